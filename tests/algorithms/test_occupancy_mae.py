"""Occupancy-MAE end to end on a generated synthetic KITTI tree: range-aware masking against a
per-voxel loop, the loss falling when fitting one batch, the config through the runner, and the
checkpoint's encoder exported for OpenPCDet and mmdet3d."""
import glob
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from conftest import ROOT, lidar_config_on_frames, load_script
from mm_ssl.algorithms.occupancy_mae import range_aware_mask
from mm_ssl.errors import ConfigError
from mm_ssl.registry import MODELS
from mm_ssl.transforms.points import KITTI_RANGE, KITTI_VOXEL, voxelize_batch

export_backbone = load_script('tools/export_backbone.py')
CONFIG = 'configs/occupancy_mae/occupancy-mae_voxelnet_1xb2-cpu-demo_synthetic-kitti.py'
RECIPES = dict(kitti='configs/occupancy_mae/occupancy-mae_voxelnet_8xb4-30e_kitti.py',
               waymo='configs/occupancy_mae/occupancy-mae_voxelnet_8xb4-30e_waymo.py')


def synthetic_cloud(seed, n=40000):
    """A KITTI-range cloud, denser near the sensor as a LiDAR's is (uniform in range, not in
    area), reaching past 50 m."""
    g = torch.Generator().manual_seed(seed)
    r = 2 + 66 * torch.rand(n, generator=g)
    a = (torch.rand(n, generator=g) - 0.5) * 1.6                  # +-46 degrees ahead
    z = -1.7 + 2.5 * torch.rand(n, generator=g)
    return torch.stack([r * a.cos(), r * a.sin(), z, torch.rand(n, generator=g)], 1)


def band_of(coords, bounds, voxel_size=KITTI_VOXEL, point_range=KITTI_RANGE):
    """Band of each voxel by a per-voxel loop over its centre's bird's-eye distance."""
    bands = []
    for _, _, y, x in coords.tolist():
        cx = point_range[0] + (x + 0.5) * voxel_size[0]
        cy = point_range[1] + (y + 0.5) * voxel_size[1]
        d = math.hypot(cx, cy)
        bands.append(sum(d > b for b in bounds))
    return torch.tensor(bands)


def test_range_aware_masking_holds_each_bands_ratio_in_every_frame():
    _, coords, _ = voxelize_batch([synthetic_cloud(0), synthetic_cloud(1)])
    ratios, bounds = (0.9, 0.7, 0.5), (30.0, 50.0)
    keep = range_aware_mask(coords, KITTI_VOXEL, KITTI_RANGE, ratios, bounds,
                            generator=torch.Generator().manual_seed(0))
    band = band_of(coords, bounds)
    for frame in (0, 1):
        for k, ratio in enumerate(ratios):
            members = (coords[:, 0] == frame) & (band == k)
            n = int(members.sum())
            assert n > 1000, (frame, k, n)
            masked = n - int(keep[members].sum())
            assert abs(masked / n - ratio) <= 1 / n, (frame, k, masked, n)


def test_range_aware_masking_draws_each_voxel_uniformly():
    _, coords, _ = voxelize_batch([synthetic_cloud(2, n=3000)])
    g = torch.Generator().manual_seed(1)
    draws = torch.stack([range_aware_mask(coords, KITTI_VOXEL, KITTI_RANGE, generator=g)
                         for _ in range(400)]).double()
    band = band_of(coords, (30.0, 50.0))
    kept = draws.mean(0)
    for k, ratio in enumerate((0.9, 0.7, 0.7)):
        # every voxel of the band is kept about 1 - ratio of the time: none is always masked
        share = kept[band == k]
        assert (share - (1 - ratio)).abs().max() < 5 * math.sqrt(ratio * (1 - ratio) / 400)
    assert not torch.equal(draws[0], draws[1])


def test_range_aware_masking_needs_one_ratio_per_band():
    coords = torch.zeros(3, 4, dtype=torch.int32)
    with pytest.raises(ConfigError, match='need 3 mask ratios'):
        range_aware_mask(coords, KITTI_VOXEL, KITTI_RANGE, (0.9, 0.7), (30.0, 50.0))


def test_occupancy_mae_fits_one_batch_of_synthetic_frames(synthetic_kitti):
    init_default_scope('mm_ssl')
    cfg = lidar_config_on_frames(CONFIG, synthetic_kitti, num_points=None)
    torch.manual_seed(0)
    batch = next(iter(Runner.build_dataloader(cfg.train_dataloader)))
    model = MODELS.build(cfg.model).train()
    inputs = model.data_preprocessor(batch, True)['inputs']
    assert 'images' not in inputs and 'voxels_b' not in inputs      # LiDAR only, one view
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    history = []
    for _ in range(4):
        losses = model(inputs, mode='loss')
        opt.zero_grad()
        losses['loss_occupancy'].backward()
        if not history:
            grad = model.encoder.conv_input[0].weight.grad
            assert grad is not None and grad.abs().sum() > 0       # the encoder learns
        opt.step()
        history.append(losses['loss_occupancy'].item())
    assert history[-1] < 0.8 * history[0], history


def test_the_encoder_sees_only_the_visible_voxels(synthetic_kitti):
    """The encoder's input holds exactly the voxels the masking keeps: its SubM stem's output
    has sum over frames and bands of round((1 - ratio) n) rows, the bands counted by a loop."""
    init_default_scope('mm_ssl')
    cfg = lidar_config_on_frames(CONFIG, synthetic_kitti, num_points=2048)
    ratios = (0.5, 0.25, 0.0)
    cfg.model.mask_ratios = ratios
    batch = next(iter(Runner.build_dataloader(cfg.train_dataloader)))
    model = MODELS.build(cfg.model).train()
    inputs = model.data_preprocessor(batch, True)['inputs']
    coords = inputs['voxels_a'][1]
    band = band_of(coords, (30.0, 50.0), cfg.voxel_size, cfg.point_range)
    expected = sum(round((1 - ratio) * int(((coords[:, 0] == f) & (band == k)).sum()))
                   for f in range(len(inputs['points_a'])) for k, ratio in enumerate(ratios))
    rows = []
    model.encoder.conv_input.register_forward_hook(lambda m, i, o: rows.append(len(o.features)))
    losses = model(inputs, mode='loss')
    assert rows == [expected] and 0 < expected < len(coords)
    assert torch.isfinite(losses['loss_occupancy'])


@pytest.mark.parametrize('path', sorted(glob.glob(f'{ROOT}/configs/occupancy_mae/*.py')))
def test_occupancy_mae_configs_share_one_grid_and_build(path):
    init_default_scope('mm_ssl')
    cfg = Config.fromfile(path)
    pre, encoder = cfg.model.data_preprocessor, cfg.model.encoder
    assert (tuple(pre.voxel_size), tuple(pre.point_range)) == (cfg.voxel_size, cfg.point_range)
    assert (tuple(encoder.voxel_size), tuple(encoder.point_range)) == (cfg.voxel_size,
                                                                       cfg.point_range)
    assert tuple(cfg.train_dataloader.dataset.point_range) == tuple(pre.point_range)
    assert cfg.train_dataloader.dataset.with_image is False
    model = MODELS.build(cfg.model)
    grid = model.encoder.sparse_shape
    assert model.target_shape == ((grid[0] - 1) // 4, grid[1] // 4, grid[2] // 4)


@pytest.mark.parametrize('dataset', ['kitti', 'waymo'])
def test_real_data_recipes_take_a_step_on_trees_of_their_layout(dataset, request):
    """Each recipe's reader, grid, encoder and decoder on the synthetic frames written in its
    layout (one frame: the dense decoder on KITTI's grid is the cost of a CPU test): a finite
    loss and gradient on every input channel; Waymo's clouds are whole sweeps (velodyne/), with
    points behind the front camera."""
    init_default_scope('mm_ssl')
    root = request.getfixturevalue(f'synthetic_{dataset}')
    cfg = lidar_config_on_frames(RECIPES[dataset], root, num_points=1024)
    cfg.train_dataloader.update(batch_size=1)
    cfg.train_dataloader.dataset.ann_file = f'{dataset}_infos_trainval.pkl'
    torch.manual_seed(0)
    batch = next(iter(Runner.build_dataloader(cfg.train_dataloader)))
    model = MODELS.build(cfg.model).train()
    inputs = model.data_preprocessor(batch, True)['inputs']
    points = inputs['points_a'][0]
    assert points.shape[1] == cfg.model.encoder.in_channels
    assert (points[:, 0] < 0).any() == (dataset == 'waymo')
    loss = model(inputs, mode='loss')['loss_occupancy']
    loss.backward()
    assert torch.isfinite(loss)
    grad = model.encoder.conv_input[0].weight.grad
    assert (grad.abs().sum((0, 1, 2, 3)) > 0).all()


def test_config_trains_through_the_runner_and_exports_to_openpcdet_and_mmdet3d(
        synthetic_kitti, tmp_path):
    from mm_ssl.engine import SSLRunner
    cfg = lidar_config_on_frames(CONFIG, synthetic_kitti, num_points=2048)
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)   # 4 frames: 2 iterations
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
    runner = SSLRunner.from_cfg(cfg)
    before = runner.model.encoder.conv_input[0].weight.detach().clone()
    runner.train()
    encoder = runner.model.encoder.state_dict()
    assert not torch.equal(before, encoder['conv_input.0.weight'])
    ckpt = tmp_path / 'epoch_1.pth'
    for fmt, prefix in (('openpcdet', 'backbone_3d.'), ('mmdet3d', 'middle_encoder.')):
        out = tmp_path / f'{fmt}.pth'
        export_backbone.main([str(ckpt), '--format', fmt, '--out', str(out)])
        exported = next(iter(torch.load(out, weights_only=True).values()))
        assert len(exported) == len(encoder) and all(k.startswith(prefix) for k in exported)
    # OpenPCDet's keys are the encoder's own (VoxelBackBone8x's names), tensor for tensor
    exported = torch.load(tmp_path / 'openpcdet.pth', weights_only=True)['model_state']
    for key, tensor in encoder.items():
        assert torch.equal(exported[f'backbone_3d.{key}'], tensor), key
