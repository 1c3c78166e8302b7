"""Distributed training steps equal single-process steps on the global batch.

For SimCLR, MoCo v2 (queue), SwAV and SimIPU: an optimiser step (the method's config
optimiser; MoCo: two, the first fills the queue) with 2 gloo ranks x B samples, the model
wrapped as SSLRunner wraps it (DDP + ``sync_bn='torch'``), gives the same loss (mean of the
rank losses) and the same weights as one process stepping on the 2B samples; the weights are
identical on both ranks, and so are the buffers (SyncBN running statistics, MoCo's queue after
it wraps around). The views are fixed tensors (no on-device augmentation), so only model,
losses, DDP and the optimiser are compared.
In float64: in float32, rounding differences of ~1e-7 flip ReLUs near zero and a second step
then differs by ~1e-3 (the same happens in one process with weights perturbed by 1e-7).
"""
import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from conftest import ROOT, SIMIPU_CONFIG, simipu_on_frames
from mm_ssl.engine.runner import wrap_distributed
from mm_ssl.registry import DATASETS, MODELS

WORLD, B = 2, 2                      # B samples per rank, 2B in the single process
NECK = dict(type='MLP', hidden_dim=64, out_dim=32)
METHODS = {   # config, model overrides, view sizes (None: SimIPU's frames)
    'SimCLR': ('configs/simclr/simclr_resnet18_1xb256-100e_digits.py', {}, (16, 16)),
    'MoCo': ('configs/mocov2/mocov2_resnet18_1xb256-100e_digits.py',
             dict(queue_size=3 * WORLD * B), (16, 16)),   # wraps around in the second step
    'SwAV': ('configs/swav/swav_resnet18_1xb256-100e_digits.py',
             dict(num_prototypes=10, freeze_prototypes_iters=0), (16, 16, 8, 8)),
    'SimIPU': (SIMIPU_CONFIG, {}, None),
}
# MoCo's first step has an empty queue (loss 0) and fills it; the second uses it
STEPS = dict(SimCLR=1, MoCo=2, SwAV=1, SimIPU=1)


def method_config(name):
    path, overrides, _ = METHODS[name]
    cfg = Config.fromfile(os.path.join(ROOT, path))
    if name == 'SimIPU':
        mlp = dict(type='MLP', hidden_dim=32, out_dim=16, num_layers=3)
        cfg.model.update(intra_head=mlp, point_cross_head=mlp, image_cross_head=mlp)
    else:
        cfg.model.update(neck=NECK, online_probe=None, **overrides)
        cfg.model.data_preprocessor.augment = None
    return cfg


def image_batches(name):
    """The method's batches of 2B samples: fixed uint8 views."""
    g = torch.Generator().manual_seed(1)
    return [dict(img=[torch.randint(0, 256, (WORLD * B, 3, s, s), generator=g,
                                    dtype=torch.uint8) for s in METHODS[name][2]],
                 label=torch.zeros(WORLD * B, dtype=torch.long), idx=torch.arange(WORLD * B))
            for _ in range(STEPS[name])]


def simipu_batches(kitti_root):
    """A batch of 2B synthetic KITTI frames (the fixture's 4), augmented once here."""
    cfg = simipu_on_frames(kitti_root, num_points=256)
    torch.manual_seed(0)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    return [[dataset[i] for i in range(WORLD * B)]] * STEPS['SimIPU']


def rows_of(batch, rows: slice):
    if isinstance(batch, list):                                       # SimIPU: frames
        return pseudo_collate(batch[rows])
    return dict(batch, img=[v[rows] for v in batch['img']], label=batch['label'][rows],
                idx=batch['idx'][rows])


def train(name, model, batches, rows=slice(None)):
    """Train steps of ``model`` (plain or DDP-wrapped) on ``rows`` of each batch: the loss
    of every step and the final state (parameters, BN statistics, queues)."""
    optim_wrapper = build_optim_wrapper(model, method_config(name).optim_wrapper)
    losses = [model.train_step(rows_of(batch, rows), optim_wrapper)['loss'].item()
              for batch in batches]
    module = getattr(model, 'module', model)
    return losses, {k: v.detach().clone() for k, v in module.state_dict().items()}


def build(name, init_dir):
    init_default_scope('mm_ssl')
    model = MODELS.build(method_config(name).model).train().double()
    model.load_state_dict(torch.load(os.path.join(init_dir, f'{name}.pt')), strict=True)
    return model


def worker(rank, init_file, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=WORLD)
    batches = torch.load(os.path.join(out_dir, 'batches.pt'), weights_only=False)
    results = {}
    for name in METHODS:
        cfg = method_config(name)
        model = wrap_distributed(build(name, out_dir), sync_bn='torch',
                                 find_unused_parameters=cfg.get('find_unused_parameters', False))
        results[name] = train(name, model, batches[name], slice(rank * B, (rank + 1) * B))
    torch.save(results, os.path.join(out_dir, f'rank{rank}.pt'))
    dist.destroy_process_group()


def test_two_ranks_train_like_one_process_with_the_global_batch(tmp_path, synthetic_kitti):
    init_default_scope('mm_ssl')
    batches = {name: image_batches(name) for name in METHODS if name != 'SimIPU'}
    batches['SimIPU'] = simipu_batches(synthetic_kitti)
    torch.save(batches, tmp_path / 'batches.pt')
    for name in METHODS:
        torch.manual_seed(0)
        torch.save(MODELS.build(method_config(name).model).state_dict(), tmp_path / f'{name}.pt')
    mp.spawn(worker, args=(str(tmp_path / 'init'), str(tmp_path)), nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f'rank{r}.pt') for r in range(WORLD)]
    torch.set_num_threads(1)   # the sparse encoder's reference on CPU
    for name in METHODS:
        losses, state = train(name, build(name, str(tmp_path)), batches[name])
        rank_losses = torch.tensor([r[name][0] for r in ranks], dtype=torch.float64)
        assert torch.allclose(rank_losses.mean(0), torch.tensor(losses, dtype=torch.float64),
                              atol=1e-10), \
            (name, rank_losses, losses)
        (_, rank0), (_, rank1) = ranks[0][name], ranks[1][name]
        for key, value in state.items():
            assert torch.equal(rank0[key], rank1[key]), (name, key)
            assert torch.allclose(rank0[key].double(), value.double(), atol=1e-10), \
                (name, key, (rank0[key].double() - value.double()).abs().max())
