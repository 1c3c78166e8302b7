"""DepthContrast end to end on a generated synthetic KITTI tree: the frame pooling against a loop,
the loss against a float64 InfoNCE with the queue as negatives, frames of a batch becoming
discriminable across views, a run through the Runner whose checkpoint exports into mmdet3d's
SparseEncoder, and the real-data recipes taking a step on trees of their layout."""
import glob
import math

import pytest
import spconv.pytorch as spconv
import torch
from mmengine.config import Config

from conftest import ROOT, lidar_config_on_frames, load_script, model_and_batch
from mm_ssl.losses import info_nce
from mm_ssl.models.encoders.voxel_backbone import frame_max_pool, sparse_input

CONFIG = 'configs/depth_contrast/depthcontrast_voxelnet_1xb2-cpu-demo_synthetic-kitti.py'
RECIPES = dict(kitti='configs/depth_contrast/depthcontrast_voxelnet_8xb32-1000e_kitti.py',
               waymo='configs/depth_contrast/depthcontrast_voxelnet_8xb32-30e_waymo.py')


def test_frame_max_pool_is_the_channel_maximum_over_each_frames_voxels():
    torch.manual_seed(0)
    frames = torch.tensor([0, 2, 0, 2, 2, 0])             # frame 1 has no voxel
    feats = torch.randn(6, 5, requires_grad=True)
    indices = torch.cat([frames[:, None], torch.randint(0, 4, (6, 3))], 1).int()
    pooled = frame_max_pool(spconv.SparseConvTensor(feats, indices, [4, 4, 4], 3))
    for f in range(3):
        for c in range(5):
            values = [feats[i, c].item() for i in range(6) if frames[i] == f]
            assert pooled[f, c].item() == (max(values) if values else 0.0)
    pooled.sum().backward()
    # the gradient reaches exactly the voxel holding each frame's maximum, once per channel
    assert torch.equal(feats.grad.sum(0), torch.full((5,), 2.0))
    assert ((feats.grad == 0) | (feats.grad == 1)).all()


def test_loss_is_info_nce_of_the_pooled_views_with_the_queue_as_negatives(synthetic_kitti):
    cfg = lidar_config_on_frames(CONFIG, synthetic_kitti, num_points=1024)
    cfg.model.queue_size = 10
    model, inputs = model_and_batch(cfg)
    model.double()
    inputs['voxels_a'] = tuple(t.double() if t.is_floating_point() else t
                               for t in inputs['voxels_a'])
    inputs['voxels_b'] = tuple(t.double() if t.is_floating_point() else t
                               for t in inputs['voxels_b'])
    negatives = torch.randn(8, 128, dtype=torch.float64)
    model.queue.push(negatives)
    loss = model(inputs, mode='loss')['loss']
    loss.backward()

    # reference: on the first step the key network is the online one copied, so the key of
    # view B is the online embedding of view B; InfoNCE written out over the queue
    def embed(voxels):
        sp = spconv.SparseConvTensor(*voxels, model.encoder.sparse_shape, 2)
        return model.projector(frame_max_pool(model.encoder(sp)['encoded_spconv_tensor']))

    with torch.no_grad():
        q, k = embed(inputs['voxels_a']), embed(inputs['voxels_b'])
    expected = 0.0
    for f in range(2):
        qf = q[f] / q[f].norm()
        pos = math.exp(float(qf @ (k[f] / k[f].norm())) / 0.1)
        neg = sum(math.exp(float(qf @ (n / n.norm())) / 0.1) for n in negatives)
        expected -= math.log(pos / (pos + neg)) / 2
    assert abs(loss.item() - expected) < 1e-9
    # the keys were queued after the loss; the key network got no gradient, the encoder did,
    # up to conv_out (the pooled output)
    torch.testing.assert_close(model.queue.negatives(), torch.cat([negatives, k]))
    assert all(p.grad is None for p in model.target.parameters())
    assert model.encoder.conv_out[0].weight.grad.abs().sum() > 0
    assert model.encoder.conv_input[0].weight.grad.abs().sum() > 0


def test_frames_of_a_batch_become_discriminable_across_views(synthetic_kitti):
    """Fitting one batch of the 4 frames: each frame's query (view A) picks out its own key
    (view B) among the other frames' keys ever better, and the method's loss falls once the
    queue is full (it then holds the previous step's keys of the same frames: its floor is
    log 2, not 0)."""
    cfg = lidar_config_on_frames(CONFIG, synthetic_kitti, num_points=1024)
    cfg.train_dataloader.batch_size = 4
    cfg.model.queue_size = 4
    model, inputs = model_and_batch(cfg)

    def in_batch():
        with torch.no_grad():
            keys = model.target(sparse_input(model.encoder, inputs['voxels_b'], 4))
            return info_nce(model.query(inputs['voxels_a'], 4), keys, temperature=0.1).item()

    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    before, history = in_batch(), []
    for _ in range(8):
        loss = model(inputs, mode='loss')['loss']
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    assert in_batch() < 0.5 * before
    assert history[0] == 0 and history[-1] < 0.8 * history[1], history   # step 0: empty queue


def test_runner_trains_it_and_the_checkpoint_exports_to_mmdet3d(synthetic_kitti, tmp_path):
    from mm_ssl.engine import SSLRunner
    cfg = lidar_config_on_frames(CONFIG, synthetic_kitti, num_points=1024)
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=3)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=3, by_epoch=False)
    cfg.visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
    runner = SSLRunner.from_cfg(cfg)
    before = {k: v.clone() for k, v in runner.model.encoder.state_dict().items()}
    runner.train()
    encoder = runner.model.encoder
    for name in ('conv_input.0.weight', 'conv_out.0.weight'):
        assert not torch.equal(before[name], encoder.state_dict()[name]), name
    assert int(runner.model.queue.filled) == 6
    out = tmp_path / 'mmdet3d.pth'
    load_script('tools/export_backbone.py').main(
        [str(tmp_path / 'iter_3.pth'), '--format', 'mmdet3d', '--out', str(out)])
    exported = torch.load(out, weights_only=True)['state_dict']
    export_tests = load_script('tests/models/test_export.py')
    names = {s: f'encoder_layers.encoder_layer{s[-1]}' for s, _ in export_tests.STAGES}
    # mmdet3d reads a checkpoint without version-2 metadata as spconv-1 weights and permutes
    loaded = {k[len('middle_encoder.'):]: v.permute(4, 0, 1, 2, 3) if v.dim() == 5 else v
              for k, v in exported.items()}
    renamed = {}
    for key, tensor in encoder.state_dict().items():
        stage = key.split('.')[0]
        renamed[key.replace(stage, names[stage], 1) if stage in names else key] = tensor
    export_tests.assert_loads_exactly(export_tests.reference_backbone(names), loaded, renamed)


@pytest.mark.parametrize('path', sorted(glob.glob(f'{ROOT}/configs/depth_contrast/*.py')))
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
    finite loss (the second step, the first one's keys queued) and gradient on every input
    channel of the point encoder."""
    root = request.getfixturevalue(f'synthetic_{dataset}')
    cfg = lidar_config_on_frames(RECIPES[dataset], root, num_points=1024)
    cfg.train_dataloader.dataset.ann_file = f'{dataset}_infos_trainval.pkl'
    model, inputs = model_and_batch(cfg)
    model(inputs, mode='loss')
    loss = model(inputs, mode='loss')['loss']
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    grad = model.encoder.conv_input[0].weight.grad
    assert grad.shape[-1] == cfg.model.encoder.in_channels
    assert (grad.abs().sum((0, 1, 2, 3)) > 0).all()
