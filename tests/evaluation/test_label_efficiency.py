"""The label-efficiency curve of the detection probe (mm_ssl.evaluation.det3d.curve) and its
command (benchmarks/transfer_det3d.py --label-shares): nested labelled subsets shared by every
encoder, runs that differ only in the encoder, paired gains and the written table and plot."""
import json
import math

import numpy as np
import pytest
import torch
from conftest import load_script
from PIL import Image
from test_det3d_transfer import RANGE, VOXEL

from mm_ssl.evaluation.det3d import (VoxelCenterDetector, curve_gains, label_efficiency,
                                     label_efficiency_table, labelled_subsets,
                                     plot_label_efficiency)

transfer_main = load_script('benchmarks/transfer_det3d.py').main


def quiet(*_):
    pass


def test_subsets_are_nested_prefixes_of_ceil_share_frames():
    frames = [f'{i:06d}' for i in range(450)]
    subsets = labelled_subsets(frames, (5, 10, 20, 100, 2.5))
    # ceil(22.5) = 23; 10% and 20% of 450 are whole numbers, not rounded up a frame by float error
    assert {s: len(f) for s, f in subsets.items()} == {5: 23, 10: 45, 20: 90, 100: 450, 2.5: 12}
    assert all(f == frames[:len(f)] for f in subsets.values())
    assert [len(f) for f in labelled_subsets(frames[:3], (1, 34, 67)).values()] == [1, 2, 3]
    for share in (0, 101, -5):
        with pytest.raises(ValueError, match='not in'):
            labelled_subsets(frames, (share,))


def test_every_encoder_trains_on_the_same_frames_seed_for_seed(synthetic_kitti):
    """An encoder given the weights seed 0 would draw anyway trains exactly like scratch at every
    share and in both modes (same head init, same frames, same order), so its paired gains are
    0; a different encoder changes the runs. The 4-frame fixture has 2 train frames: 50% labels
    the first, 100% both."""
    torch.manual_seed(0)
    copy = VoxelCenterDetector(VOXEL, RANGE).encoder.state_dict()
    torch.manual_seed(1)
    other = VoxelCenterDetector(VOXEL, RANGE).encoder.state_dict()
    train = (synthetic_kitti / 'ImageSets/train.txt').read_text().split()
    assert len(train) == 2
    curves = label_efficiency(synthetic_kitti, VOXEL, RANGE,
                              {'scratch': None, 'copy': copy, 'other': other}, shares=(50, 100),
                              seeds=(0,), iters=2, modes=('full', 'frozen'), log=quiet)
    assert list(curves) == ['full', 'frozen']
    assert all(list(curve) == [50, 100] for curve in curves.values())
    for curve in curves.values():
        for share, labelled in ((50, train[:1]), (100, train)):
            runs = curve[share]
            assert all(r['frames'] == labelled for r in runs.values())
            assert runs['copy']['loss'] == runs['scratch']['loss']
            np.testing.assert_equal(runs['copy']['ap'], runs['scratch']['ap'])   # NaN: no class
            assert runs['other']['loss'] != runs['scratch']['loss']
        gains = curve_gains(curve, 'bev', 'mAP')
        assert set(gains) == {'copy', 'other'} and gains['copy'] == {50: [0.0], 100: [0.0]}
    # the frozen mode leaves the encoder as it was: a frozen run differs from the full one
    assert curves['frozen'][100]['scratch']['loss'] != curves['full'][100]['scratch']['loss']


def fake_curve():
    """Two shares, three seeds, BEV mAP and Car only, frame counts 23 and 450."""
    def runs(frames, *maps):
        return dict(frames=['x'] * frames,
                    ap=[{'bev': {'Car': m + 10, 'mAP': m}} for m in maps])
    return {5: {'scratch': runs(23, 4.0, 6.0, 5.0), 'SimIPU': runs(23, 5.0, 5.0, 8.0)},
            100: {'scratch': runs(450, 30.0, 32.0, 31.0),
                  'SimIPU': runs(450, 31.0, 34.0, 34.0)}}


def test_paired_gains_and_table_by_hand():
    curve = fake_curve()
    # 5%: +1, -1, +3 (mean 1, std 2); 100%: +1, +2, +3 (mean 2, std 1)
    assert curve_gains(curve) == {'SimIPU': {5: [1.0, -1.0, 3.0], 100: [1.0, 2.0, 3.0]}}
    assert label_efficiency_table(curve).splitlines() == [
        '| BEV AP R40, mAP | 5% (23 frames) | 100% (450 frames) |',
        '|---|---:|---:|',
        '| scratch | 5.0 ± 1.0 | 31.0 ± 1.0 |',
        f'| SimIPU | 6.0 ± {math.sqrt(3):.1f} | 33.0 ± {math.sqrt(3):.1f} |',
        '| SimIPU - scratch | +1.0 ± 2.0 (better in 2 of 3 seeds) | '
        '+2.0 ± 1.0 (better in 3 of 3 seeds) |']
    car = label_efficiency_table(curve, 'bev', 'Car').splitlines()
    assert car[0].startswith('| BEV AP R40, Car |')
    assert car[2] == '| scratch | 15.0 ± 1.0 | 41.0 ± 1.0 |'
    # without the baseline there are no gain rows
    assert len(label_efficiency_table(curve, baseline='none').splitlines()) == 4


def test_plot_has_a_panel_per_mode_and_metric(tmp_path):
    path = plot_label_efficiency({'full': fake_curve(), 'frozen': fake_curve()},
                                 tmp_path / 'curve.png', panels=(('bev', 'mAP'), ('bev', 'Car')))
    width, height = Image.open(path).size
    assert width > height > 500        # 2 columns (modes) x 2 rows (panels), 5 x 3.5 in each


def test_command_writes_tables_plot_and_per_seed_results(synthetic_kitti, tmp_path, capsys):
    config = tmp_path / 'grid.py'
    config.write_text(f'model = dict(data_preprocessor=dict(voxel_size={VOXEL}, '
                      f'point_range={RANGE}))\n')
    out = tmp_path / 'curve'
    argv = ['--config', str(config), '--data-root', str(synthetic_kitti), '--label-shares', '50',
            '100', '--seeds', '2', '--iters', '1', '--frozen-encoder', '--device', 'cpu',
            '--out', str(out)]
    transfer_main(argv)
    printed = capsys.readouterr().out
    report = (out / 'label_efficiency.md').read_text()
    assert '### frozen encoder, BEV AP R40 mAP' in report and '### full fine-tuning' not in report
    assert '| BEV AP R40, mAP | 50% (1 frames) | 100% (2 frames) |' in report
    assert report.strip().endswith('```') and ' '.join(argv) in report
    assert report.strip() in printed and '[curve point 2 of 2' in printed
    assert Image.open(out / 'label_efficiency.png').size[0] > 400
    saved = json.loads((out / 'results.json').read_text())
    assert saved['modes'] == ['frozen'] and saved['label_shares'] == [50.0, 100.0]
    runs = saved['curves']['frozen']['100.0']['scratch']
    assert len(runs['ap']) == 2 and len(runs['loss'][0]) == 1
    assert saved['paired_gains']['frozen encoder, BEV AP R40 mAP'] == {}   # scratch alone


def test_command_without_shares_runs_both_modes(synthetic_kitti, tmp_path, capsys):
    config = tmp_path / 'grid.py'
    config.write_text(f'model = dict(data_preprocessor=dict(voxel_size={VOXEL}, '
                      f'point_range={RANGE}))\n')
    results = transfer_main(['--config', str(config), '--data-root', str(synthetic_kitti),
                             '--labelled-frames', '1', '--seeds', '1', '--iters', '1',
                             '--both-modes', '--device', 'cpu', '--out', str(tmp_path / 'cmp')])
    assert list(results) == ['scratch', 'frozen encoder: scratch']
    first = (synthetic_kitti / 'ImageSets/train.txt').read_text().split()[:1]
    assert all(runs['frames'] == first for runs in results.values())
    assert '| metric | class | scratch | frozen encoder: scratch |' in capsys.readouterr().out
    assert (tmp_path / 'cmp/losses.png').is_file() and (tmp_path / 'cmp/results.json').is_file()


def test_command_refuses_a_share_over_100(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        transfer_main(['--label-shares', '5', '150', '--out', str(tmp_path / 'curve')])
    assert exit_info.value.code == 2 and '150 is over 100' in capsys.readouterr().err
    assert not (tmp_path / 'curve').exists()


def test_eval_det3d_prints_the_curve_command_of_its_checkpoint(synthetic_kitti, tmp_path, capsys):
    eval_tool = load_script('tools/eval.py')
    config = 'configs/simipu/simipu_voxelnet-r18_1xb2-cpu-demo_synthetic-kitti.py'
    eval_tool.main([config, 'random', '--seeds', '1', '--iters', '1', '--labelled-frames', '1',
                    '--device', 'cpu', '--out', str(tmp_path / 'random.json'), '--cfg-options',
                    f'train_dataloader.dataset.data_root={synthetic_kitti}'])
    line, = [x for x in capsys.readouterr().out.splitlines() if 'label-efficiency' in x]
    command = line[line.index('python '):].split()
    # the curve of the same grid, scratch alone for the random encoder (a checkpoint adds
    # --pretrained CKPT)
    assert command[:4] == ['python', 'benchmarks/transfer_det3d.py', '--config', config]
    assert '--pretrained' not in command
    assert ' '.join(command[4:]) == ('--data-root data/synthetic_kitti_600 --label-shares 5 10 '
                                     '20 100 --both-modes')
