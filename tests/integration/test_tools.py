"""The command-line tools, driven as a user drives them, including bad input: each failure is
one line naming the file or key, exit status 2, and no half-written run left in the work dir."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import DIGITS_CONFIGS, ROOT, tiny_config

SIMCLR = DIGITS_CONFIGS['SimCLR']
SIMIPU_DEMO = 'configs/simipu/simipu_voxelnet-r18_1xb2-cpu-demo_synthetic-kitti.py'


def run_tool(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600)


def assert_one_line_error(out, *fragments):
    assert out.returncode == 2, out.stderr[-3000:]
    lines = [line for line in out.stderr.splitlines() if line.startswith('error: ')]
    assert len(lines) == 1 and 'Traceback' not in out.stderr, out.stderr[-3000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
    """Two training iterations through tools/train.py; returns (work_dir, checkpoint)."""
    work = tmp_path_factory.mktemp('train')
    out = run_tool('tools/train.py', SIMCLR, '--work-dir', str(work), '--cfg-options',
                   'train_dataloader.batch_size=16', 'train_cfg.max_epochs=1',
                   'train_dataloader.dataset.split=test', 'default_hooks.logger.interval=5')
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'Epoch(train)' in out.stdout + out.stderr and 'knn_top1' not in out.stderr
    return work, work / 'epoch_1.pth'


def test_train_writes_checkpoint_logs_and_tensorboard(pretrained):
    work, ckpt = pretrained
    assert ckpt.is_file() and (work / 'last_checkpoint').is_file()
    run_dirs = [d for d in work.iterdir() if d.is_dir()]
    assert len(run_dirs) == 1
    vis = run_dirs[0] / 'vis_data'
    assert any(f.name.startswith('events.out.tfevents') for f in vis.iterdir())
    records = [json.loads(line) for line in open(vis / 'scalars.json')]
    assert any('loss' in r for r in records)


def test_eval_prints_accuracy_and_writes_json_named_by_settings(pretrained):
    _, ckpt = pretrained
    out = run_tool('tools/eval.py', SIMCLR, str(ckpt), '--protocol', 'knn', '--k', '20')
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'knn top-1:' in out.stdout
    result = json.load(open(f'{ckpt}.knn-k20-t0.07.json'))
    assert result['protocol'] == 'knn' and 0 <= result['top1'] <= 100 and result['k'] == 20
    assert result['num_train'] == 1437 and result['num_test'] == 360
    # a rerun with other settings is another file: the first result is kept
    out = run_tool('tools/eval.py', SIMCLR, str(ckpt), '--k', '5', '--temperature', '0.1')
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.load(open(f'{ckpt}.knn-k5-t0.1.json'))['k'] == 5
    assert json.load(open(f'{ckpt}.knn-k20-t0.07.json')) == result


def test_eval_random_writes_under_work_dirs_not_the_source_tree(tmp_path):
    configs = os.listdir(os.path.join(ROOT, 'configs/simclr'))
    out = run_tool(os.path.join(ROOT, 'tools/eval.py'), os.path.join(ROOT, SIMCLR), 'random',
                   '--protocol', 'linear', '--epochs', '2', cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.load(open(tmp_path / 'work_dirs/simclr_resnet18_1xb256-100e_digits'
                            / 'random.linear-e2.json'))
    assert result['checkpoint'] is None and result['epochs'] == 2 and result['protocol'] == 'linear'
    assert os.listdir(os.path.join(ROOT, 'configs/simclr')) == configs


def test_eval_det3d_fine_tunes_from_a_simipu_checkpoint(synthetic_kitti, tmp_path):
    """A LiDAR config gets the detection-transfer protocol without asking; the detector starts
    from the checkpoint's point encoder (its first loss, before any update, differs from the
    random-init run's), and CHECKPOINT random fine-tunes from scratch."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mm_ssl.registry import MODELS
    init_default_scope('mm_ssl')
    torch.manual_seed(1)
    model = MODELS.build(Config.fromfile(os.path.join(ROOT, SIMIPU_DEMO)).model)
    ckpt = tmp_path / 'simipu.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    budget = ['--seeds', '1', '--iters', '2', '--labelled-frames', '2', '--device', 'cpu',
              '--cfg-options', f'train_dataloader.dataset.data_root={synthetic_kitti}',
              f'work_dir={tmp_path / "work"}']
    runs = {}
    for checkpoint, json_path in ((ckpt, f'{ckpt}.det3d-s1-i2-f2.json'),
                                  ('random', tmp_path / 'work/random.det3d-s1-i2-f2.json')):
        out = run_tool('tools/eval.py', SIMIPU_DEMO, str(checkpoint), *budget)
        assert out.returncode == 0, out.stderr[-3000:]
        assert '| BEV AP R40 | Car |' in out.stdout and '| 3D AP R40 | mAP |' in out.stdout
        runs[checkpoint] = json.load(open(json_path))
        assert runs[checkpoint]['protocol'] == 'det3d' and len(runs[checkpoint]['runs']['ap']) == 1
        assert 0 <= runs[checkpoint]['bev_mAP'] <= 100
    losses = [run['runs']['loss'][0] for run in runs.values()]
    assert len(losses[0]) == len(losses[1]) == 2 and losses[0][0] != losses[1][0]
    assert runs[ckpt]['checkpoint'] == str(ckpt) and runs['random']['checkpoint'] is None


def test_plot_logs_writes_png(pretrained, tmp_path):
    work, _ = pretrained
    out = run_tool('tools/plot_logs.py', str(work), '--out', str(tmp_path / 'c.png'))
    assert out.returncode == 0, out.stderr[-3000:]
    assert Image.open(tmp_path / 'c.png').size[0] > 500


def test_missing_dataset_path(tmp_path):
    work = tmp_path / 'work'
    out = run_tool('tools/train.py', 'configs/simclr/simclr_resnet18_1xb256-200e_cifar10.py',
                   '--work-dir', str(work), '--cfg-options',
                   f'train_dataloader.dataset.root={tmp_path}/no_cifar_here')
    assert_one_line_error(out, 'no_cifar_here')
    assert not work.exists()


def test_corrupt_image_in_image_folder(tmp_path):
    for cls in ('a', 'b'):
        (tmp_path / 'images' / 'train' / cls).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(np.full((20, 24, 3), 40 * i, np.uint8)).save(
                tmp_path / 'images' / 'train' / cls / f'{i}.png')
    bad = tmp_path / 'images' / 'train' / 'b' / 'broken.png'
    bad.write_bytes(b'\x89PNG\r\n\x1a\n' + b'garbage' * 10)
    work = tmp_path / 'work'
    cfg = tmp_path / 'folder.py'
    cfg.write_text(f"_base_ = ['{ROOT}/configs/_base_/models/simclr_resnet18.py', "
                   f"'{ROOT}/configs/_base_/datasets/image_folder.py', "
                   f"'{ROOT}/configs/_base_/schedules/sgd_cosine.py', "
                   f"'{ROOT}/configs/_base_/default_runtime.py']\n"
                   f"data_root = '{tmp_path}/images'\n")
    out = run_tool('tools/train.py', str(cfg), '--work-dir', str(work), '--cfg-options',
                   f'train_dataloader.dataset.root={tmp_path}/images/train',
                   'train_dataloader.batch_size=9', 'train_dataloader.drop_last=False',
                   'train_dataloader.dataset.pipeline.views.0.size=16', 'val_cfg=None',
                   'val_dataloader=None', 'val_evaluator=None')
    assert_one_line_error(out, str(bad))
    assert not work.exists()


def test_unknown_type_in_config(tmp_path):
    out = run_tool('tools/train.py', SIMCLR, '--work-dir', str(tmp_path / 'w'),
                   '--cfg-options', 'model.neck.type=NoSuchNeck')
    assert_one_line_error(out, 'NoSuchNeck')
    assert not (tmp_path / 'w').exists()


def test_checkpoint_of_another_model(tmp_path):
    cfg = tiny_config('SimCLR', str(tmp_path))
    from mm_ssl.registry import MODELS
    cfg.model.encoder.depth = 50
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, tmp_path / 'r50.pth')
    out = run_tool('tools/eval.py', SIMCLR, str(tmp_path / 'r50.pth'))
    assert_one_line_error(out, 'r50.pth', 'encoder.')
    out = run_tool('tools/train.py', SIMCLR, '--work-dir', str(tmp_path / 'w'),
                   '--cfg-options', f'load_from={tmp_path}/r50.pth')
    assert_one_line_error(out, 'r50.pth', 'shape mismatch')
    assert not (tmp_path / 'w').exists()
    out = run_tool('tools/eval.py', SIMCLR, str(tmp_path / 'missing.pth'))
    assert_one_line_error(out, 'missing.pth', 'not found')
