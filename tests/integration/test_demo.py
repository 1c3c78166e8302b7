"""`make demo`'s jobs at a shorter budget: SimCLR on digits beats random init on kNN, and the
LiDAR job runs end to end (synthetic KITTI -> SimIPU -> detection transfer table)."""
import json

import pytest

from conftest import load_script

demo = load_script('tools/demo.py')


def test_pretrained_beats_random_init_on_digits_knn(tmp_path, capsys):
    rows = demo.main(['--task', 'digits', '--work-dir', str(tmp_path), '--epochs', '8'])['digits']
    assert rows['SimCLR']['knn_top1'] > rows['random init']['knn_top1'] + 3, rows
    out = capsys.readouterr().out
    assert '| SimCLR' in out and (tmp_path / 'simclr_digits_curves.png').is_file()


def test_lidar_demo_runs_end_to_end(tmp_path, capsys):
    results = demo.main(['--task', 'lidar', '--work-dir', str(tmp_path / 'work'),
                         '--data-root', str(tmp_path / 'kitti'), '--frames', '8', '--epochs', '1',
                         '--labelled-frames', '2', '--seeds', '1', '--finetune-iters', '2',
                         '--device', 'cpu'])
    runs = results['lidar']
    # on a CPU the demo fine-tunes frozen encoders only (whole ones: --finetune full / both)
    assert set(runs) == {'frozen encoder: scratch', 'frozen encoder: SimIPU'}
    assert all(len(r['ap']) == 1 for r in runs.values())
    out = capsys.readouterr().out
    assert '| BEV AP R40 | Car |' in out and ('| metric | class | frozen encoder: scratch | '
                                              'frozen encoder: SimIPU |' in out)
    assert 'frozen encoder: SimIPU - frozen encoder: scratch, BEV mAP' in out
    saved = json.loads((tmp_path / 'work' / 'transfer_det3d.json').read_text())
    assert saved['checkpoint'].endswith('epoch_1.pth')
    assert (tmp_path / 'work' / 'transfer_det3d_losses.png').is_file()


def test_zero_seeds_is_refused_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        demo.main(['--task', 'lidar', '--work-dir', str(tmp_path / 'work'), '--seeds', '0'])
    assert exit_info.value.code == 2 and not (tmp_path / 'work').exists()
    assert '--seeds: must be >= 1, got 0' in capsys.readouterr().err
