"""Bad input to tools/eval.py: settings out of range are usage errors that name the option before
anything runs, and a protocol that does not fit the config is one line saying which ones do.
No result JSON is written or overwritten by a refused run."""
import shutil

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mm_ssl.registry import MODELS

from .harness import ROOT, one_line_error, run_main, usage_error

EVAL = 'tools/eval.py'
SIMCLR = f'{ROOT}/configs/simclr/simclr_resnet18_1xb256-100e_digits.py'   # the model `trained` has
VIDEO = f'{ROOT}/configs/video/simclr_small3dcnn_synthetic-videos.py'
SIMIPU = f'{ROOT}/configs/simipu/simipu_voxelnet-r18_1xb2-cpu-demo_synthetic-kitti.py'
BAD_SETTINGS = {  # case: (arguments, the option argparse names, what it says)
    'k 0': (['--k', '0'], '--k', 'must be >= 1, got 0'),
    'k -3': (['--k', '-3'], '--k', 'must be >= 1, got -3'),
    'temperature 0': (['--temperature', '0'], '--temperature', 'must be > 0, got 0'),
    'epochs 0': (['--protocol', 'linear', '--epochs', '0'], '--epochs', 'must be >= 1, got 0'),
}


def folder_contents(folder):
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def saved_model(config, path):
    """A checkpoint of ``config``'s model at its initial weights."""
    init_default_scope('mm_ssl')
    torch.save({'state_dict': MODELS.build(Config.fromfile(config).model).state_dict()}, path)
    return path


@pytest.mark.parametrize('case', BAD_SETTINGS)
def test_setting_out_of_range(trained, tmp_path, case, record):
    """The checkpoint's folder already holds a result: it is kept and nothing is added. The
    digits config can run kNN (the `trained` run's own config has no val_cfg), so only the
    argument check stands between a bad value and a written JSON."""
    _, work = trained
    ckpt = shutil.copy(work / 'iter_2.pth', tmp_path / 'iter_2.pth')
    (tmp_path / 'iter_2.pth.knn-k200-t0.07.json').write_text('{"top1": 41.5}')
    before = folder_contents(tmp_path)
    args, option, message = BAD_SETTINGS[case]
    run = run_main(EVAL, SIMCLR, ckpt, *args)
    record('eval.py', f'--{case}', usage_error(run, f'argument {option}: {message}')
           + '; no JSON written')
    assert folder_contents(tmp_path) == before


def test_knn_on_a_video_config(tmp_path, record):
    ckpt = saved_model(VIDEO, tmp_path / 'video.pth')
    run = run_main(EVAL, VIDEO, ckpt, '--protocol', 'knn')
    record('eval.py', 'knn on a video config',
           one_line_error(run, VIDEO, 'knn needs val_cfg.memory_dataloader',
                          'this config supports video'))
    assert [path.name for path in tmp_path.iterdir()] == ['video.pth']


def test_knn_on_a_simipu_config(tmp_path, record):
    ckpt = saved_model(SIMIPU, tmp_path / 'simipu.pth')
    run = run_main(EVAL, SIMIPU, ckpt, '--protocol', 'knn')
    record('eval.py', 'knn on a SimIPU (LiDAR) config',
           one_line_error(run, SIMIPU, 'point encoder', 'use --protocol det3d, not knn'))
    assert [path.name for path in tmp_path.iterdir()] == ['simipu.pth']
