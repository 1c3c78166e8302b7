"""PointContrast end to end on a generated synthetic KITTI tree: the LiDAR-only data path (no
image read), the loss falling on one batch with gradient through both views, a run through the
Runner whose checkpoint exports into OpenPCDet's VoxelBackBone8x, and the real-data recipes
taking a step on trees of their layout."""
import glob

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT, lidar_config_on_frames, load_script, model_and_batch
from mm_ssl.models.encoders.voxel_backbone import voxel_point_features

CONFIG = 'configs/point_contrast/pointcontrast_voxelnet_1xb2-cpu-demo_synthetic-kitti.py'
RECIPES = dict(kitti='configs/point_contrast/pointcontrast_voxelnet_8xb4-20k_kitti.py',
               waymo='configs/point_contrast/pointcontrast_voxelnet_8xb4-20k_waymo.py')


def test_point_features_of_a_batch_are_those_of_each_frame_alone(synthetic_kitti):
    """The per-point lookup SimIPU and PointContrast share reads each frame's own voxels."""
    model, inputs = model_and_batch(lidar_config_on_frames(CONFIG, synthetic_kitti, 1024))
    model.eval()
    feats, valid = voxel_point_features(model.encoder, inputs['voxels_a'], inputs['points_a'])
    voxel_feats, coords = inputs['voxels_a']
    for f, points in enumerate(inputs['points_a']):
        rows = coords[:, 0] == f
        alone = coords[rows].clone()
        alone[:, 0] = 0
        feats_alone, valid_alone = voxel_point_features(
            model.encoder, (voxel_feats[rows], alone), [points])
        # every point is in range and keeps its voxel down to stride 8
        assert valid[f].all() and valid_alone[0].all()
        torch.testing.assert_close(feats[f], feats_alone[0])
        assert feats[f].abs().sum() > 0


def test_point_contrast_fits_one_batch_with_gradient_through_both_views(synthetic_kitti):
    cfg = lidar_config_on_frames(CONFIG, synthetic_kitti, num_points=2048)
    model, inputs = model_and_batch(cfg)
    assert 'images' not in inputs and 'lidar2img' not in inputs    # the image is never read
    for view in 'ab':
        inputs[f'voxels_{view}'][0].requires_grad_()
    loss = model(inputs, mode='loss')['loss']
    loss.backward()
    # neither view is detached (PointContrast), and the encoder learns
    for view in 'ab':
        assert inputs[f'voxels_{view}'][0].grad.abs().sum() > 0, view
    assert model.encoder.conv_input[0].weight.grad.abs().sum() > 0
    sgd = {k: v for k, v in cfg.optim_wrapper.optimizer.items() if k != 'type'}
    opt = torch.optim.SGD(model.parameters(), **sgd)    # the config's lr, momentum, decay
    history = [loss.item()]
    for _ in range(5):
        opt.step()
        opt.zero_grad()
        loss = model(inputs, mode='loss')['loss']
        loss.backward()
        history.append(loss.item())
    assert history[-1] < 0.9 * history[0], history


def test_runner_trains_it_and_the_checkpoint_exports_to_openpcdet(synthetic_kitti, tmp_path):
    from mm_ssl.engine import SSLRunner
    cfg = lidar_config_on_frames(CONFIG, synthetic_kitti, num_points=1024)
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2, by_epoch=False)
    cfg.visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
    runner = SSLRunner.from_cfg(cfg)
    before = runner.model.encoder.conv_input[0].weight.detach().clone()
    runner.train()
    encoder = runner.model.encoder
    assert not torch.equal(before, encoder.conv_input[0].weight)
    out = tmp_path / 'openpcdet.pth'
    load_script('tools/export_backbone.py').main(
        [str(tmp_path / 'iter_2.pth'), '--format', 'openpcdet', '--out', str(out)])
    exported = torch.load(out, weights_only=True)['model_state']
    export_tests = load_script('tests/models/test_export.py')
    reference = export_tests.reference_backbone({s: s for s, _ in export_tests.STAGES})
    export_tests.assert_loads_exactly(
        reference, {k[len('backbone_3d.'):]: v for k, v in exported.items()},
        encoder.state_dict())


@pytest.mark.parametrize('path', sorted(glob.glob(f'{ROOT}/configs/point_contrast/*.py')))
def test_configs_share_one_grid_between_data_and_encoder(path):
    cfg = Config.fromfile(path)
    pre, encoder = cfg.model.data_preprocessor, cfg.model.encoder
    grid = (tuple(pre.voxel_size), tuple(pre.point_range))
    assert (tuple(encoder.voxel_size), tuple(encoder.point_range)) == grid
    assert tuple(cfg.train_dataloader.dataset.point_range) == grid[1]
    assert cfg.train_dataloader.dataset.with_image is False


@pytest.mark.parametrize('dataset', ['kitti', 'waymo'])
def test_real_data_recipes_take_a_step_on_trees_of_their_layout(dataset, request):
    """Each recipe's reader, grid and encoder on the synthetic frames written in its layout: a
    finite loss and gradient on every input channel of the point encoder."""
    root = request.getfixturevalue(f'synthetic_{dataset}')
    cfg = lidar_config_on_frames(RECIPES[dataset], root, num_points=1024)
    cfg.train_dataloader.dataset.ann_file = f'{dataset}_infos_trainval.pkl'
    model, inputs = model_and_batch(cfg)
    loss = model(inputs, mode='loss')['loss']
    loss.backward()
    assert torch.isfinite(loss)
    grad = model.encoder.conv_input[0].weight.grad
    assert grad.shape[-1] == cfg.model.encoder.in_channels
    assert (grad.abs().sum((0, 1, 2, 3)) > 0).all()
