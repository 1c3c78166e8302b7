import importlib.util
import os.path as osp
import shutil
import subprocess
import sys

import av
import numpy as np
import pytest
import torch
from mmengine.config import Config

import mm_ssl  # noqa: F401  (applies the mmengine fixes)
from mm_ssl.synthetic.scene import parse_calib

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DIGITS_CONFIGS = {
    'SimCLR': 'configs/simclr/simclr_resnet18_1xb256-100e_digits.py',
    'MoCo': 'configs/mocov2/mocov2_resnet18_1xb256-100e_digits.py',
    'BYOL': 'configs/byol/byol_resnet18_1xb256-100e_digits.py',
    'SimSiam': 'configs/simsiam/simsiam_resnet18_1xb256-100e_digits.py',
}


def load_script(path: str):
    """The module of a script under ``tools/`` or ``benchmarks/`` (``path`` relative to the
    repository), imported from its file: the scripts are not a package."""
    spec = importlib.util.spec_from_file_location(osp.splitext(osp.basename(path))[0],
                                                  osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def two_threads():
    """Tests run as on the target machine: 2 CPU threads. Some float32 tolerances and short
    training budgets are set for it (at 1 thread MKL sums in another order)."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


SIMIPU_CONFIG = 'configs/simipu/simipu_voxelnet-r18_1xb2-20e_synthetic-kitti.py'


def model_and_batch(cfg: Config):
    """The model of a LiDAR config, in train mode, and the preprocessed inputs of its first
    batch; seeded, so every run sees the same frames and views."""
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from mm_ssl.registry import MODELS
    init_default_scope('mm_ssl')
    cfg.train_dataloader.sampler.seed = 0     # the same frames and views in every run
    torch.manual_seed(0)
    loader = Runner.build_dataloader(cfg.train_dataloader)
    model = MODELS.build(cfg.model).train()
    return model, model.data_preprocessor(next(iter(loader)), True)['inputs']


def lidar_config_on_frames(config: str, data_root, num_points: int,
                           num_workers: int = 0) -> Config:
    """A LiDAR pretraining config (path under the repository) on all frames (``trainval``) of a
    small tree such as the ``synthetic_kitti`` fixture's, with ``num_points`` per cloud."""
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.train_dataloader.update(num_workers=num_workers, persistent_workers=num_workers > 0)
    cfg.train_dataloader.dataset.update(data_root=str(data_root), num_points=num_points,
                                        ann_file='kitti_infos_trainval.pkl')
    return cfg


def simipu_on_frames(data_root, num_points: int, num_workers: int = 0) -> Config:
    """SimIPU's synthetic-KITTI config on all frames of a small tree
    (:func:`lidar_config_on_frames`) with 160 x 64 images."""
    cfg = lidar_config_on_frames(SIMIPU_CONFIG, data_root, num_points, num_workers)
    cfg.train_dataloader.dataset.pipeline[1].scale_range = (160, 64)
    return cfg


def tiny_config(method: str, work_dir: str, max_iters: int = 4, batch_size: int = 32,
                checkpoint_interval: int = 2, device: str | None = None,
                **model_overrides) -> Config:
    """A method's digits config (a key of DIGITS_CONFIGS or a config path under the repository)
    shrunk to a few iterations of small batches, iteration-based, with a schedule that does not
    depend on ``max_iters`` (so split runs equal whole runs). ``device='cpu'`` keeps a run off
    the GPU where a test compares runs bit for bit (cuDNN's kernels are not deterministic)."""
    cfg = Config.fromfile(osp.join(ROOT, DIGITS_CONFIGS.get(method, method)))
    cfg.work_dir = work_dir
    cfg.train_dataloader.batch_size = batch_size
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10**6)
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0,
                                end=100)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=checkpoint_interval,
                                        by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_processor = dict(by_epoch=False)
    cfg.visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    if method == 'MoCo':
        cfg.model.queue_size = 64
    if device:
        cfg.device = device
    cfg.merge_from_dict(dict(model=model_overrides))
    return cfg


def write_audio_only(path):
    """An mp4 holding one AAC audio stream and no video stream (PyAV cannot write a file with no
    streams at all): the video readers' "stream-less" case."""
    with av.open(str(path), 'w', format='mp4') as container:
        stream = container.add_stream('aac', rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format='fltp',
                                           layout='mono')
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode())


@pytest.fixture(scope='session')
def synthetic_kitti(tmp_path_factory):
    """A 4-frame synthetic KITTI tree (640 x 192 images) with its infos; read-only for tests."""
    root = tmp_path_factory.mktemp('kitti')
    for cmd in (['data_prep/make_synthetic_kitti.py', '--out', str(root), '--frames', '4',
                 '--seed', '1', '--width', '640', '--height', '192', '--azimuth-steps', '1024'],
                ['data_prep/create_kitti_infos.py', '--root', str(root)]):
        out = subprocess.run([sys.executable, *cmd], capture_output=True, text=True, cwd=ROOT)
        assert out.returncode == 0, out.stderr[-2000:]
    return root


def write_as_waymo_layout(kitti_root, root):
    """The synthetic KITTI tree rewritten as Waymo in KITTI layout: 6-channel clouds (elongation
    and timestamp appended), the left colour camera as all five cameras with ``P0..P4`` and
    ``Tr_velo_to_cam_0..4`` (``R0_rect`` folded into them: Waymo's is the identity)."""
    src, dst = kitti_root / 'training', root / 'training'
    shutil.copytree(kitti_root / 'ImageSets', root / 'ImageSets')
    for sub in ['calib', 'velodyne'] + [f'image_{i}' for i in range(5)]:
        (dst / sub).mkdir(parents=True)
    for cloud in sorted((src / 'velodyne').glob('*.bin')):
        frame = cloud.stem
        points = np.fromfile(cloud, np.float32).reshape(-1, 4)
        extra = np.c_[np.full(len(points), 0.5), np.zeros(len(points))]
        np.c_[points, extra].astype(np.float32).tofile(dst / 'velodyne' / cloud.name)
        calib = parse_calib((src / 'calib' / f'{frame}.txt').read_text())
        velo_to_cam = calib['R0_rect'] @ calib['Tr_velo_to_cam']
        mats = {**{f'P{i}': calib['P2'] for i in range(5)}, 'R0_rect': np.eye(3),
                **{f'Tr_velo_to_cam_{i}': velo_to_cam for i in range(5)}}
        (dst / 'calib' / f'{frame}.txt').write_text(''.join(
            f'{k}: ' + ' '.join(f'{x:e}' for x in m.ravel()) + '\n' for k, m in mats.items()))
        for i in range(5):
            shutil.copy(src / 'image_2' / f'{frame}.png', dst / f'image_{i}' / f'{frame}.png')


@pytest.fixture(scope='session')
def synthetic_waymo(synthetic_kitti, tmp_path_factory):
    """The ``synthetic_kitti`` frames as Waymo in KITTI layout (:func:`write_as_waymo_layout`)
    with their Waymo infos; read-only for tests."""
    root = tmp_path_factory.mktemp('waymo')
    write_as_waymo_layout(synthetic_kitti, root)
    out = subprocess.run([sys.executable, 'data_prep/create_kitti_infos.py', '--root', str(root),
                          '--waymo'], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    return root


# The bad-input suite's outcome table (tests/robustness): every case records (component, case,
# outcome) and the table is printed at the end of the run, also when the suite runs in
# pytest-xdist workers. The hooks are here, not in tests/robustness/conftest.py, because the
# xdist controller collects no tests and so loads only this conftest.
OUTCOMES = []   # (component, case, outcome), in the order the cases ran


@pytest.fixture
def record():
    """``record(component, case, outcome)``: one row of the summary table."""
    def add(component, case, outcome):
        OUTCOMES.append((component, case, outcome))
    return add


def pytest_sessionfinish(session):
    if hasattr(session.config, 'workeroutput'):   # an xdist worker: send the rows home
        session.config.workeroutput['robustness_outcomes'] = list(OUTCOMES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    OUTCOMES.extend(tuple(row) for row in getattr(node, 'workeroutput', {}).get(
        'robustness_outcomes', ()))


def pytest_terminal_summary(terminalreporter):
    if not OUTCOMES:
        return
    rows = sorted(set(OUTCOMES))
    widths = [max(len(row[i]) for row in rows + [('component', 'case', 'outcome')])
              for i in range(3)]
    terminalreporter.section(f'bad-input suite: {len(rows)} cases')
    for row in [('component', 'case', 'outcome'), tuple('-' * w for w in widths), *rows]:
        terminalreporter.write_line('  '.join(cell.ljust(w) for cell, w in zip(row, widths))
                                    .rstrip())
