"""SimIPU end to end on a generated synthetic KITTI tree: the real data path (KITTI files ->
infos -> dataset -> views -> voxels) and both losses falling when fitting one batch."""
import glob
import shutil

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from conftest import ROOT, SIMIPU_CONFIG, simipu_on_frames
from mm_ssl.registry import MODELS
from mm_ssl.transforms.points import sparse_shape

CONFIG = f'{ROOT}/{SIMIPU_CONFIG}'


def test_simipu_fits_one_batch_of_synthetic_frames(synthetic_kitti):
    init_default_scope('mm_ssl')
    cfg = Config.fromfile(CONFIG)
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.update(data_root=str(synthetic_kitti), num_points=2048)
    cfg.train_dataloader.dataset.pipeline[1].scale_range = (320, 96)   # a quick CPU test
    torch.manual_seed(0)
    batch = next(iter(Runner.build_dataloader(cfg.train_dataloader)))
    model = MODELS.build(cfg.model).train()
    inputs = model.data_preprocessor(batch, True)['inputs']
    assert inputs['images'].shape == (2, 3, 96, 320)
    assert inputs['voxels_a'][1].shape[1] == 4            # (b, z, y, x)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    history = []
    for _ in range(6):
        losses = model(inputs, mode='loss')
        opt.zero_grad()
        sum(losses.values()).backward()
        opt.step()
        history.append({k: v.item() for k, v in losses.items()})
    for key in ('loss_intra', 'loss_cross'):
        assert history[-1][key] < 0.9 * history[0][key], history
    # the point encoder learns from both losses, the image encoder from the cross loss
    assert model.encoder.conv_input[0].weight.grad.abs().sum() > 0
    assert model.image_encoder.conv1.weight.grad.abs().sum() > 0


def test_simipu_trains_with_the_hybrid_optimisers_through_the_runner(synthetic_kitti, tmp_path):
    from mm_ssl.engine import SSLRunner
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path)
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.update(data_root=str(synthetic_kitti), num_points=1024)
    cfg.train_dataloader.dataset.pipeline[1].scale_range = (320, 96)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
    cfg.param_scheduler = [dict(type='ExponentialLR', gamma=0.5, by_epoch=False)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2, by_epoch=False)
    cfg.visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
    runner = SSLRunner.from_cfg(cfg)
    model = runner.model
    point_before = model.encoder.conv_input[0].weight.detach().clone()
    image_before = model.image_encoder.conv1.weight.detach().clone()
    runner.train()
    wrappers = runner.optim_wrapper
    assert type(wrappers['encoder'].optimizer).__name__ == 'AdamW'
    assert type(wrappers['others'].optimizer).__name__ == 'SGD'
    point_ids = {id(p) for p in model.encoder.parameters()}
    sgd_ids = {id(p) for g in wrappers['others'].optimizer.param_groups for p in g['params']}
    assert not point_ids & sgd_ids and id(model.image_encoder.conv1.weight) in sgd_ids
    assert not torch.equal(point_before, model.encoder.conv_input[0].weight)
    assert not torch.equal(image_before, model.image_encoder.conv1.weight)
    # each optimiser runs the schedule from its own base lr
    decay = wrappers['others'].get_lr()['lr'][0] / 0.03
    assert decay < 1 and wrappers['encoder'].get_lr()['lr'][0] == pytest.approx(1e-3 * decay)
    ckpt = torch.load(tmp_path / 'iter_2.pth', map_location='cpu')
    assert set(ckpt['optimizer']) == {'encoder', 'others'}


def test_skipped_frames_are_counted_in_the_run_summary(synthetic_kitti, tmp_path):
    """Skips happen in DataLoader workers; the run summary still counts each bad file once."""
    import json

    from mm_ssl.engine import SSLRunner
    root = tmp_path / 'kitti'
    shutil.copytree(synthetic_kitti, root)
    bad = root / 'training/velodyne_reduced/000001.bin'
    bad.write_bytes(bad.read_bytes()[:-6])          # not a whole number of 4-float points
    cfg = simipu_on_frames(root, num_points=512, num_workers=2)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2)
    cfg.visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
    runner = SSLRunner.from_cfg(cfg)
    runner.train()
    listed = json.loads((tmp_path / 'work' / 'skipped_samples.json').read_text())
    assert len(listed) == 1 and listed[0].startswith(str(bad)), listed
    log = next((tmp_path / 'work').glob('*/*.log')).read_text()
    assert 'run summary: 1 bad samples skipped' in log and 'epoch 1: 1 bad samples skipped' in log


@pytest.mark.parametrize('path', sorted(glob.glob(f'{ROOT}/configs/simipu/*.py')))
def test_simipu_configs_share_one_grid_between_data_and_encoder(path):
    """The point encoder's sparse shape is the voxel grid of the voxel size and range the data
    preprocessor uses, and the dataset keeps points in that same range."""
    cfg = Config.fromfile(path)
    pre = cfg.model.data_preprocessor
    assert (tuple(pre.voxel_size), tuple(pre.point_range)) == (cfg.voxel_size, cfg.point_range)
    encoder = cfg.model.encoder
    assert (tuple(encoder.voxel_size), tuple(encoder.point_range)) == (cfg.voxel_size,
                                                                       cfg.point_range)
    assert tuple(cfg.train_dataloader.dataset.point_range) == tuple(pre.point_range)


@pytest.mark.parametrize('dataset', ['kitti', 'waymo'])
def test_real_data_configs_train_on_trees_of_their_layout(dataset, request):
    """SimIPU's KITTI and Waymo configs on the synthetic frames written in each layout: the grid
    matches the voxel size and range, every camera-frustum point projects into the image of the
    configured camera, and a training step of the ResNet-50 recipe gives finite losses and
    gradients on the point encoder's input channels."""
    root = request.getfixturevalue(f'synthetic_{dataset}')
    init_default_scope('mm_ssl')
    cfg = Config.fromfile(f'{ROOT}/configs/simipu/simipu_voxelnet-r50_8xb4-50e_{dataset}.py')
    grid = sparse_shape(cfg.voxel_size, cfg.point_range)
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.update(data_root=str(root), num_points=1024)
    # SimIPU's random scale, drawn from a smaller range for a CPU test
    cfg.train_dataloader.dataset.pipeline[1].scale_range = ((320, 96), (480, 144))
    channels = cfg.model.encoder.in_channels

    loader = Runner.build_dataloader(cfg.train_dataloader)
    for i in range(len(loader.dataset)):
        frame = loader.dataset.load(i)
        assert frame['points'].shape[1] == channels
        uvz = frame['points'][:, :3].double() @ frame['lidar2img'][:3, :3].T + \
            frame['lidar2img'][:3, 3]
        uv, (h, w) = uvz[:, :2] / uvz[:, 2:], frame['img_shape']
        assert (uvz[:, 2] > 0).all() and (uv > -1).all() and (uv < torch.tensor([w, h])).all()

    torch.manual_seed(0)
    model = MODELS.build(cfg.model).train()
    inputs = model.data_preprocessor(next(iter(loader)), True)['inputs']
    feats, coords = inputs['voxels_a']
    assert feats.shape[1] == channels
    assert (coords[:, 1:] >= 0).all() and (coords[:, 1:] < torch.tensor(grid)).all()
    losses = model(inputs, mode='loss')
    sum(losses.values()).backward()
    assert all(torch.isfinite(v) for v in losses.values()), losses
    grad = model.encoder.conv_input[0].weight.grad
    assert grad.shape[-1] == channels and (grad.abs().sum((0, 1, 2, 3)) > 0).all()
