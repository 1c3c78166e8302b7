"""SLidR end to end on a generated synthetic KITTI tree: superpixels of the image the network
sees, the frozen image encoder read from SimIPU and image-method checkpoints, only points with a
pixel pooled (against a per-point loop), the loss falling when fitting one batch with gradients
in the point encoder and none in the image encoder, and the checkpoint exported for OpenPCDet."""
import glob

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from conftest import ROOT, lidar_config_on_frames, load_script
from mm_ssl.errors import CheckpointError, ConfigError
from mm_ssl.losses import superpixel_info_nce
from mm_ssl.models.encoders import ResNet, VoxelBackBone8x
from mm_ssl.registry import MODELS
from mm_ssl.transforms import ImageResizeFlip, SLICSuperpixels
from skimage.segmentation import slic

CONFIG = 'configs/slidr/slidr_voxelnet-r18_1xb2-cpu-demo_synthetic-kitti.py'
RECIPES = dict(kitti='configs/slidr/slidr_voxelnet-r50_8xb4-50e_kitti.py',
               waymo='configs/slidr/slidr_voxelnet-r50_8xb4-50e_waymo.py')


def square_image():
    """A 96 x 160 blue image with a red square in its top-left part (and mild noise)."""
    g = torch.Generator().manual_seed(0)
    image = torch.zeros(3, 96, 160)
    image[2] = 200
    image[0, 10:60, 20:70], image[2, 10:60, 20:70] = 220, 0
    return (image + 10 * torch.rand(3, 96, 160, generator=g)).to(torch.uint8)


def test_superpixels_are_those_of_the_resized_flipped_image():
    results = dict(image=square_image(), img_shape=(96, 160),
                   lidar2img=torch.eye(4, dtype=torch.float64))
    ImageResizeFlip(scale_range=(300, 180), flip=True, pad_divisor=32)(results)
    SLICSuperpixels()(results)
    labels, image = results['superpixels'], results['image']
    assert results['img_shape'] == (180, 300) and labels.shape == image.shape[-2:] == (192, 320)
    assert (labels[180:] == -1).all() and (labels[:, 300:] == -1).all()
    valid = image[:, :180, :300]
    expected = slic(valid.permute(1, 2, 0).numpy(), n_segments=150, compactness=6, sigma=3,
                    start_label=0, channel_axis=-1)
    assert torch.equal(labels[:180, :300], torch.from_numpy(expected).long())
    # the square is on the right after the flip, and superpixels keep to its edges
    red = valid[0] > valid[2]
    assert red[:, 160:].any() and not red[:, :140].any()
    pure = sum(max(r, 1 - r) * n for r, n in
               ((red[labels[:180, :300] == s].float().mean().item(),
                 int((labels[:180, :300] == s).sum())) for s in labels[labels >= 0].unique()))
    assert pure / red.numel() > 0.97


def test_preprocessor_pads_superpixels_with_minus_one():
    pre = MODELS.build(dict(type='PointImagePreprocessor'))
    samples = [dict(points=torch.rand(50, 4) * 10, image=torch.zeros(3, h, w, dtype=torch.uint8),
                    img_shape=(h, w), lidar2img=torch.eye(4, dtype=torch.float64),
                    superpixels=torch.arange(h * w).view(h, w) % 7)
               for h, w in ((32, 64), (64, 32))]
    inputs = pre(pseudo_collate(samples))['inputs']
    sp = inputs['superpixels']
    assert sp.shape == (2, 64, 64) and sp.dtype == torch.int64
    assert (sp[0, 32:] == -1).all() and (sp[1, :, 32:] == -1).all()
    assert torch.equal(sp[0, :32], samples[0]['superpixels'])
    assert 'voxels_b' not in inputs and 'perm' not in inputs        # one view


def save_checkpoint(path, state):
    torch.save({'state_dict': state, 'meta': {}}, path)
    return str(path)


def slidr_on(root, image_checkpoint, num_points):
    cfg = lidar_config_on_frames(CONFIG, root, num_points)
    cfg.model.image_checkpoint = image_checkpoint
    cfg.train_dataloader.dataset.pipeline[0].scale_range = (320, 96)   # a quick CPU test
    return cfg


@pytest.fixture
def image_checkpoint(tmp_path):
    """An image method's checkpoint: a ResNet-18 under ``encoder.``, with BN statistics that are
    not the defaults (so a load that kept the defaults would show)."""
    torch.manual_seed(1)
    state = {}
    for key, tensor in ResNet(depth=18).state_dict().items():
        if key.endswith(('running_mean', 'running_var')):
            tensor = tensor + 0.1 * torch.rand_like(tensor)
        state[f'encoder.{key}'] = tensor
    return save_checkpoint(tmp_path / 'image.pth', state)


def test_a_pipeline_without_superpixels_is_a_config_error(synthetic_kitti, image_checkpoint):
    init_default_scope('mm_ssl')
    cfg = slidr_on(synthetic_kitti, image_checkpoint, num_points=512)
    cfg.train_dataloader.dataset.pipeline.pop()
    model, inputs = one_batch(cfg)
    with pytest.raises(ConfigError, match="dict\\(type='SLICSuperpixels'\\)"):
        model(inputs, mode='loss')


def test_image_encoder_is_read_from_image_and_simipu_checkpoints(tmp_path, image_checkpoint):
    init_default_scope('mm_ssl')
    cfg = Config.fromfile(f'{ROOT}/{CONFIG}')
    image_state = torch.load(image_checkpoint)['state_dict']
    # SimIPU keeps the image branch as image_encoder. and its point encoder as encoder.
    simipu = {k.replace('encoder.', 'image_encoder.', 1): v for k, v in image_state.items()}
    simipu.update({f'encoder.{k}': v for k, v in VoxelBackBone8x().state_dict().items()})
    for path in (image_checkpoint, save_checkpoint(tmp_path / 'simipu.pth', simipu)):
        model = MODELS.build(dict(cfg.model, image_checkpoint=path))
        got = model.image_encoder.state_dict()
        for key, tensor in image_state.items():
            assert torch.equal(got[key[len('encoder.'):]], tensor), (path, key)


def test_a_checkpoint_without_an_image_encoder_is_refused_by_name(tmp_path):
    init_default_scope('mm_ssl')
    cfg = Config.fromfile(f'{ROOT}/{CONFIG}')
    lidar_only = save_checkpoint(tmp_path / 'occupancy_mae.pth', {
        f'encoder.{k}': v for k, v in VoxelBackBone8x().state_dict().items()})
    with pytest.raises(CheckpointError, match='no image encoder') as error:
        MODELS.build(dict(cfg.model, image_checkpoint=lidar_only))
    assert lidar_only in str(error.value) and "prefixes found: encoder." in str(error.value)
    resnet50 = save_checkpoint(tmp_path / 'r50.pth', {
        f'encoder.{k}': v for k, v in ResNet(depth=50).state_dict().items()})
    with pytest.raises(CheckpointError, match='does not match the model') as error:
        MODELS.build(dict(cfg.model, image_checkpoint=resnet50))
    assert resnet50 in str(error.value)
    with pytest.raises(CheckpointError, match='not found'):
        MODELS.build(dict(cfg.model, image_checkpoint=str(tmp_path / 'missing.pth')))


def one_batch(cfg):
    torch.manual_seed(0)
    batch = next(iter(Runner.build_dataloader(cfg.train_dataloader)))
    model = MODELS.build(cfg.model).train()
    return model, model.data_preprocessor(batch, True)['inputs']


def test_slidr_fits_one_batch_and_leaves_the_image_encoder_frozen(
        synthetic_kitti, image_checkpoint):
    init_default_scope('mm_ssl')
    model, inputs = one_batch(slidr_on(synthetic_kitti, image_checkpoint, num_points=4096))
    assert not model.image_encoder.training and model.encoder.training
    frozen = {k: v.clone() for k, v in model.image_encoder.state_dict().items()}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    history = []
    for _ in range(4):
        losses = model(inputs, mode='loss')
        opt.zero_grad()
        losses['loss_superpixel'].backward()
        if not history:
            for module in (model.encoder.conv_input[0], model.point_head[0],
                           model.image_head[0]):
                assert module.weight.grad is not None and module.weight.grad.abs().sum() > 0
            assert all(p.grad is None for p in model.image_encoder.parameters())
        opt.step()
        history.append(losses['loss_superpixel'].item())
    assert history[-1] < 0.9 * history[0], history
    # eval mode: not even BatchNorm's running statistics moved
    for key, tensor in model.image_encoder.state_dict().items():
        assert torch.equal(tensor, frozen[key]), key


def test_only_points_with_a_pixel_are_pooled_into_the_superpixel_they_land_in(
        synthetic_kitti, image_checkpoint):
    """The loss equals the pooled InfoNCE built from a per-point loop: project each point by
    hand, keep it when it has a voxel feature and lands inside the valid image, read the
    superpixel at its nearest pixel. Frame 0's valid image is narrowed to its left half, so
    points that project into the right half must drop out."""
    init_default_scope('mm_ssl')
    model, inputs = one_batch(slidr_on(synthetic_kitti, image_checkpoint, num_points=4096))
    h, w = inputs['valid_hw'][0]
    inputs['valid_hw'][0] = (h, w // 2)
    inputs['superpixels'][0, :, w // 2:] = -1
    with torch.no_grad():
        got = model.compute_loss(inputs)[0]['loss_superpixel']
        from mm_ssl.models.encoders.voxel_backbone import voxel_point_features
        feats, valid = voxel_point_features(model.encoder, inputs['voxels_a'],
                                            inputs['points_a'], model.point_layer)
        labels = inputs['superpixels']
        offsets = [0, int(labels[0].max()) + 1]
        rows, ids, dropped = [], [], 0
        for f, points in enumerate(inputs['points_a']):
            m = inputs['lidar2img'][f].double()
            hf, wf = inputs['valid_hw'][f]
            for i, (x, y, z) in enumerate(points[:, :3].double().tolist()):
                cam = [sum(m[r, c].item() * v for c, v in enumerate((x, y, z, 1.0)))
                       for r in range(3)]
                u, v = cam[0] / cam[2], cam[1] / cam[2]
                if valid[f][i] and cam[2] > 1e-3 and 0 <= u <= wf - 1 and 0 <= v <= hf - 1:
                    rows.append(feats[f][i])
                    ids.append(int(labels[f, round(v), round(u)]) + offsets[f])
                elif valid[f][i]:
                    dropped += 1
        assert dropped > 100                            # the right half of frame 0's image
        pixels = model.pixel_features(inputs['images'])
        pixel_ids = labels.clone()
        pixel_ids[1][pixel_ids[1] >= 0] += offsets[1]
        expected = superpixel_info_nce(model.point_head(torch.stack(rows)), torch.tensor(ids),
                                       pixels.permute(0, 2, 3, 1).reshape(-1, pixels.shape[1]),
                                       pixel_ids.flatten(), temperature=0.07)
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize('path', sorted(glob.glob(f'{ROOT}/configs/slidr/*.py')))
def test_slidr_configs_share_one_grid_and_superpixel_the_final_image(path):
    cfg = Config.fromfile(path)
    pre, encoder = cfg.model.data_preprocessor, cfg.model.encoder
    assert (tuple(pre.voxel_size), tuple(pre.point_range)) == (cfg.voxel_size, cfg.point_range)
    assert (tuple(encoder.voxel_size), tuple(encoder.point_range)) == (cfg.voxel_size,
                                                                       cfg.point_range)
    assert tuple(cfg.train_dataloader.dataset.point_range) == tuple(pre.point_range)
    pipeline = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    assert pipeline == ['ImageResizeFlip', 'SLICSuperpixels']
    assert cfg.model.loss.temperature == 0.07


@pytest.mark.parametrize('dataset', ['kitti', 'waymo'])
def test_real_data_recipes_take_a_step_on_trees_of_their_layout(dataset, request, tmp_path):
    """Each recipe's reader, image size, superpixels, grid and ResNet-50 on the synthetic frames
    written in its layout (one frame): superpixels cover the resized image, and the loss and
    the gradient on every input channel of the point encoder are finite."""
    init_default_scope('mm_ssl')
    root = request.getfixturevalue(f'synthetic_{dataset}')
    resnet50 = save_checkpoint(tmp_path / 'r50.pth', {
        f'encoder.{k}': v for k, v in ResNet(depth=50).state_dict().items()})
    cfg = lidar_config_on_frames(RECIPES[dataset], root, num_points=1024)
    cfg.model.image_checkpoint = resnet50
    cfg.train_dataloader.update(batch_size=1)
    cfg.train_dataloader.dataset.ann_file = f'{dataset}_infos_trainval.pkl'
    model, inputs = one_batch(cfg)
    (h, w), scale = inputs['valid_hw'][0], cfg.train_dataloader.dataset.pipeline[0].scale_range
    assert max(h, w) == max(scale) or min(h, w) == min(scale)
    superpixels = inputs['superpixels'][0]
    assert (superpixels[:h, :w] >= 0).all() and superpixels.shape == inputs['images'].shape[-2:]
    assert inputs['points_a'][0].shape[1] == cfg.model.encoder.in_channels
    loss = model(inputs, mode='loss')['loss_superpixel']
    loss.backward()
    assert torch.isfinite(loss)
    grad = model.encoder.conv_input[0].weight.grad
    assert (grad.abs().sum((0, 1, 2, 3)) > 0).all()


def test_config_trains_through_the_runner_and_exports_to_openpcdet(synthetic_kitti, tmp_path,
                                                                   image_checkpoint):
    from mm_ssl.engine import SSLRunner
    cfg = slidr_on(synthetic_kitti, image_checkpoint, num_points=1024)
    cfg.train_dataloader.dataset.pipeline[0].scale_range = (160, 64)
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)   # 4 frames: 2 iterations
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
    runner = SSLRunner.from_cfg(cfg)
    before = runner.model.encoder.conv_input[0].weight.detach().clone()
    image_before = runner.model.image_encoder.conv1.weight.detach().clone()
    runner.train()
    assert not torch.equal(before, runner.model.encoder.conv_input[0].weight)
    assert torch.equal(image_before, runner.model.image_encoder.conv1.weight)
    out = tmp_path / 'openpcdet.pth'
    load_script('tools/export_backbone.py').main([str(tmp_path / 'epoch_1.pth'), '--format',
                                                  'openpcdet', '--out', str(out)])
    exported = torch.load(out, weights_only=True)['model_state']
    encoder = runner.model.encoder.state_dict()
    assert set(exported) == {f'backbone_3d.{k}' for k in encoder}
    for key, tensor in encoder.items():
        assert torch.equal(exported[f'backbone_3d.{key}'], tensor), key
