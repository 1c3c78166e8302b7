"""InstDisc, InvaSpread, MoCo v1 / v3, SimCLR v2, DirectCLR, the SimCLR loss variants and SEED:
each lowers its loss on one fixed batch, runs through the runner, and keeps its own invariants."""
import functools
import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from conftest import ROOT, tiny_config
from mm_ssl.datasets import DigitsDataset
from mm_ssl.engine import SSLRunner
from mm_ssl.errors import CheckpointError, ConfigError
from mm_ssl.registry import MODELS

CONFIGS = {
    'InstDisc': 'configs/instdisc/instdisc_resnet18_1xb256-100e_digits.py',
    'InvaSpread': 'configs/invaspread/invaspread_resnet18_1xb256-100e_digits.py',
    'MoCoV1': 'configs/mocov1/mocov1_resnet18_1xb256-100e_digits.py',
    'MoCoV3': 'configs/mocov3/mocov3_vit-tiny_1xb256-100e_digits.py',
    'SimCLRv2': 'configs/simclrv2/simclrv2_resnet18_1xb256-100e_digits.py',
    'DirectCLR': 'configs/directclr/directclr_resnet18_1xb256-100e_digits.py',
    'DCL': 'configs/dcl/dcl_resnet18_1xb256-100e_digits.py',
    'DCW': 'configs/dcl/dcw_resnet18_1xb256-100e_digits.py',
    'HardNegative': 'configs/hardneg/hardneg_resnet18_1xb256-100e_digits.py',
    'AlignUniform': 'configs/align_uniform/align-uniform_resnet18_1xb256-100e_digits.py',
    'Triplet': 'configs/triplet/triplet_resnet18_1xb256-100e_digits.py',
    'SEED': 'configs/seed/seed_resnet18_1xb256-100e_digits.py',
}
# small enough to keep the tests fast, big enough to keep each method's structure; queues as
# long as one step's keys, so they are full (and the loss comparable) from the second step on
SMALL = {
    'InstDisc': dict(num_negatives=256),
    'MoCoV1': dict(queue_size=8),
    'MoCoV3': dict(encoder=dict(image_size=16, dim=64, depth=2, heads=2, mlp_dim=128),
                   neck=dict(hidden_dim=256), head=dict(hidden_dim=256)),
    'SimCLRv2': dict(queue_size=16, momentum=0.99, neck=dict(hidden_dim=256)),
    'SEED': dict(queue_size=8),
}
QUEUED = ('MoCoV1', 'SEED', 'SimCLRv2')


@pytest.fixture(scope='module')
def teacher_checkpoint(tmp_path_factory):
    """A SimCLR model's state dict saved as an mmengine checkpoint: SEED's teacher."""
    torch.manual_seed(1)
    cfg = Config.fromfile(osp.join(ROOT, CONFIGS['SEED']))
    teacher = MODELS.build(dict(cfg.model.teacher, online_probe=dict(num_classes=10)))
    path = str(tmp_path_factory.mktemp('teacher') / 'simclr.pth')
    torch.save(dict(meta=dict(iter=1), state_dict=teacher.state_dict()), path)
    return path


def overrides(method, teacher_checkpoint):
    extra = dict(teacher_checkpoint=teacher_checkpoint) if method == 'SEED' else {}
    return dict(SMALL.get(method, {}), **extra)


def build(method, teacher_checkpoint, **extra):
    cfg = Config.fromfile(osp.join(ROOT, CONFIGS[method]))
    cfg.merge_from_dict(dict(model=dict(overrides(method, teacher_checkpoint), **extra)))
    return MODELS.build(cfg.model).train()


@functools.cache
def digits():
    return DigitsDataset(split='train', size=32)


def fixed_batch(model, n=8, size=16):
    """Views of n digits drawn once, then fixed; shrunk to ``size`` px to keep the tests fast."""
    ds = digits()
    batch = dict(img=ds.images[:n], label=ds.labels[:n], idx=torch.arange(n))
    torch.manual_seed(0)
    data = model.data_preprocessor(batch, training=True)
    data['inputs'] = [F.interpolate(v, size=size, mode='bilinear', antialias=True)
                      for v in data['inputs']]
    return data


@pytest.mark.parametrize('method', sorted(CONFIGS))
def test_overfits_one_batch(method, teacher_checkpoint):
    torch.manual_seed(0)
    model = build(method, teacher_checkpoint)
    data = fixed_batch(model)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.05,
                          momentum=0.9)
    losses = []
    for _ in range(6):
        out = model(data['inputs'], data['data_samples'], mode='loss')
        opt.zero_grad()
        (out['loss'] + out['loss_probe']).backward()
        opt.step()
        losses.append(out['loss'].item())
    # a queue starts empty (SEED, MoCo: loss 0 on the first step)
    first = losses[1] if method in QUEUED else losses[0]
    assert min(losses[-3:]) < 0.85 * first, losses
    assert 0 <= out['acc_probe'].item() <= 100


@pytest.mark.parametrize('method', ['InstDisc', 'SimCLRv2', 'MoCoV3', 'SEED', 'DirectCLR'])
def test_tiny_config_runs_two_iterations(method, teacher_checkpoint, tmp_path):
    cfg = tiny_config(CONFIGS[method], str(tmp_path), max_iters=2, batch_size=8,
                      **overrides(method, teacher_checkpoint))
    runner = SSLRunner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2 and osp.exists(tmp_path / 'iter_2.pth')


def test_every_cifar10_config_of_the_zoo_builds(teacher_checkpoint):
    """The digits configs are built by the overfit test; their CIFAR-10 twins are built here."""
    names = ['instdisc', 'invaspread', 'mocov1', 'mocov3', 'simclrv2', 'directclr', 'dcl',
             'hardneg', 'align_uniform', 'triplet', 'seed']
    paths = sorted(p for n in names for p in glob.glob(osp.join(ROOT, 'configs', n, '*.py')))
    assert len(paths) == 2 * (len(names) + 1)                # digits + CIFAR-10 each; DCW too
    for path in (p for p in paths if p.endswith('_cifar10.py')):
        cfg = Config.fromfile(path)
        assert cfg.train_dataloader.dataset.type == 'CIFAR10Dataset', path
        if cfg.model.type == 'SEED':
            cfg.model.teacher_checkpoint = teacher_checkpoint
            cfg.model.teacher.encoder.cifar_stem = False      # the test teacher's stem
        model = MODELS.build(cfg.model)
        assert model.encoder.feat_dim in (192, 512), path


def test_instdisc_updates_only_the_bank_rows_of_the_batch(teacher_checkpoint):
    torch.manual_seed(0)
    model = build('InstDisc', teacher_checkpoint)
    data = fixed_batch(model, n=8)
    data['data_samples']['idx'] = torch.arange(100, 108)
    before = model.bank.features.clone()
    model(data['inputs'], data['data_samples'], mode='loss')['loss'].backward()
    changed = (model.bank.features != before).any(1).nonzero().view(-1)
    assert changed.tolist() == list(range(100, 108))
    data['data_samples']['idx'] = torch.tensor([0, 1, 2, 3, 4, 5, 6, 1437])
    with pytest.raises(ConfigError, match='1437'):
        model(data['inputs'], data['data_samples'], mode='loss')


def test_simclrv2_keeps_the_first_head_layer_and_fills_its_memory(teacher_checkpoint):
    torch.manual_seed(0)
    model = build('SimCLRv2', teacher_checkpoint)
    data = fixed_batch(model, n=8)
    model(data['inputs'], data['data_samples'], mode='loss')['loss'].backward()
    assert int(model.queue.filled) == 16                       # momentum keys of both views
    assert all(p.grad is None for p in model.target.parameters())
    model.eval()
    x = data['inputs'][0]
    first_layer = model.projector[2](model.projector[1](model.projector[0](model.encoder(x))))
    assert torch.equal(model(x), first_layer) and model(x).shape == (8, 256)
    assert not any(k.startswith(('kept', 'rest')) for k in model.state_dict())
    with pytest.raises(ConfigError, match='keep_head_layers'):
        build('SimCLRv2', teacher_checkpoint, keep_head_layers=3)


def test_mocov3_keeps_the_random_patch_projection_frozen(teacher_checkpoint):
    torch.manual_seed(0)
    model = build('MoCoV3', teacher_checkpoint)
    before = model.encoder.conv_proj.weight.clone()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    data = fixed_batch(model, n=8)
    model(data['inputs'], data['data_samples'], mode='loss')['loss'].backward()
    opt.step()
    assert model.encoder.conv_proj.weight.grad is None
    assert torch.equal(model.encoder.conv_proj.weight, before)
    assert model.encoder.class_token.grad is not None


def test_seed_teacher_is_the_checkpoint_frozen_in_eval_mode(teacher_checkpoint, tmp_path):
    model = build('SEED', teacher_checkpoint)
    saved = torch.load(teacher_checkpoint)['state_dict']
    assert torch.equal(model.teacher[0].conv1.weight, saved['encoder.conv1.weight'])
    assert torch.equal(model.teacher[1][0].weight, saved['projector.0.weight'])
    assert not model.teacher.training and model.encoder.training
    assert not any(p.requires_grad for p in model.teacher.parameters())
    with pytest.raises(CheckpointError, match='not found'):
        build('SEED', str(tmp_path / 'missing.pth'))
    with pytest.raises(ConfigError, match='out_dim=128'):
        build('SEED', teacher_checkpoint, neck=dict(out_dim=64))
    with pytest.raises(CheckpointError, match='does not match'):
        build('SEED', teacher_checkpoint, teacher=dict(neck=dict(out_dim=64)))
