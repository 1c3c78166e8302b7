"""Exact resume: a run SIGKILLed in the middle of an epoch and resumed with ``tools/train.py
--resume`` ends with the weights, buffers (EMA targets, queues, memory banks, DINO's centre),
optimiser state and learning rate of an uninterrupted run."""
import importlib.util
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapperDict
from torch.utils.data import DataLoader

from conftest import ROOT, simipu_on_frames, tiny_config
from mm_ssl.datasets import KittiPointImageDataset, SampleIndex, SeededSampler
from mm_ssl.engine import SSLRunner

# runs tools/train.py on argv[1]; a hook trains iteration `at`, then, before the checkpoint hook
# saves it, creates argv[2] and hangs: the test SIGKILLs it there and iteration `at` is lost
KILLED_IN_ITERATION = '''
import runpy, sys, time
from mmengine.hooks import Hook
from mm_ssl.registry import HOOKS

FLAG = sys.argv[2]

@HOOKS.register_module()
class HangAfterIteration(Hook):
    priority = 'VERY_HIGH'

    def __init__(self, at):
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at:
            open(FLAG, 'w').close()
            time.sleep(600)

sys.argv = ['tools/train.py', sys.argv[1]]
runpy.run_path('tools/train.py', run_name='__main__')
'''
EPOCH_LEN, EPOCHS = 3, 2   # 54 images in batches of 16 (drop_last)


def train_tool():
    spec = importlib.util.spec_from_file_location('train_tool', osp.join(ROOT, 'tools/train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def epoch_config(method, work_dir, num_workers=0, persistent_workers=False):
    """Two epochs of 3 iterations on 16 px digits with a tiny ViT encoder, the rest as configured
    (shuffling sampler, epoch schedule with warm-up and cosine converted to iterations);
    iteration checkpoints after the 1st batch of epoch 2 and at the end."""
    cfg = tiny_config(method, str(work_dir), batch_size=16, checkpoint_interval=EPOCH_LEN + 1,
                      device='cpu')
    # what must survive is the method's state, not the encoder's: a tiny one keeps saves fast
    cfg.model.encoder = dict(type='ViT', image_size=16, patch_size=4, dim=32, depth=1, heads=2,
                             mlp_dim=64)
    cfg.custom_hooks = [h for h in cfg.custom_hooks if h.type != 'RepresentationHealthHook']
    for view in cfg.model.data_preprocessor.augment.views:
        view.size //= 2
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=EPOCHS)
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
             convert_to_iter_based=True),
        dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=EPOCHS, eta_min=0.0,
             convert_to_iter_based=True)]
    cfg.train_dataloader.dataset.update(split='test', test_fraction=0.03, size=16)
    cfg.train_dataloader.update(num_workers=num_workers, persistent_workers=persistent_workers)
    cfg.log_processor = dict(by_epoch=True)
    return cfg


def start_killable_run(cfg, at, tmp_path):
    """Starts ``cfg`` through tools/train.py in a subprocess that hangs once it has trained
    iteration ``at`` (1-based), before that iteration's checkpoint is written."""
    child_cfg = cfg.copy()
    child_cfg.custom_hooks = [*cfg.custom_hooks, dict(type='HangAfterIteration', at=at)]
    child_cfg.dump(str(tmp_path / 'child_cfg.py'))
    with open(tmp_path / 'child.log', 'w') as log:
        return subprocess.Popen(
            [sys.executable, '-c', KILLED_IN_ITERATION, str(tmp_path / 'child_cfg.py'),
             str(tmp_path / 'hanging')], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            env=dict(os.environ, OMP_NUM_THREADS='2'))


def kill_when_hanging(child, tmp_path):
    flag, deadline = tmp_path / 'hanging', time.time() + 300
    while not flag.exists() and child.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert flag.exists(), (tmp_path / 'child.log').read_text()[-3000:]


def run_state(runner):
    """Model state and, per optimiser (SimIPU has two), its state and learning rates."""
    model = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}
    wrappers = runner.optim_wrapper
    wrappers = dict(wrappers.items()) if isinstance(wrappers, OptimWrapperDict) else {'': wrappers}
    return model, {name: (w.state_dict(), w.get_lr()['lr']) for name, w in wrappers.items()}


def assert_same_run(resumed, whole):
    (model, optims), (model_ref, optims_ref) = resumed, whole
    assert model.keys() == model_ref.keys() and optims.keys() == optims_ref.keys()
    for key in model_ref:
        assert torch.allclose(model[key].double(), model_ref[key].double(), atol=1e-6), key
    for wrapper, (optim_ref, lr_ref) in optims_ref.items():
        optim, lr = optims[wrapper]
        assert lr == pytest.approx(lr_ref, abs=1e-12), wrapper
        for param, state in optim_ref['state'].items():
            for name, value in state.items():
                assert torch.allclose(optim['state'][param][name], value, atol=1e-6), \
                    (wrapper, param, name)
        assert optim['param_groups'] == optim_ref['param_groups'], wrapper


@pytest.mark.parametrize('method, state_keys, workers', [
    ('MoCo', ['queue.keys', 'queue.ptr', 'target.module.0.conv_proj.weight'], (2, True)),
    ('BYOL', ['target.module.0.conv_proj.weight'], (0, False)),
    ('configs/instdisc/instdisc_resnet18_1xb256-100e_digits.py', ['bank.features'], (0, False)),
    ('configs/dino/dino_resnet18_1xb256-100e_digits.py', ['criterion.center'], (2, False)),
])
def test_killed_mid_epoch_resumes_exactly(tmp_path, method, state_keys, workers):
    # killed having trained iteration 5 (2nd batch of epoch 2), after the checkpoint of 4;
    # in DataLoader workers, so nothing may depend on which process loads a sample
    cfg = epoch_config(method, tmp_path / 'split', *workers)
    child = start_killable_run(cfg, at=EPOCH_LEN + 2, tmp_path=tmp_path)
    try:
        whole = SSLRunner.from_cfg(epoch_config(method, tmp_path / 'whole'))
        whole.train()   # meanwhile, uninterrupted
    finally:
        kill_when_hanging(child, tmp_path)
    assert whole.iter == EPOCH_LEN * EPOCHS
    work = tmp_path / 'split'
    assert (work / 'last_checkpoint').read_text() == str(work / f'iter_{EPOCH_LEN + 1}.pth')

    cfg.dump(str(tmp_path / 'cfg.py'))
    resumed = train_tool().main([str(tmp_path / 'cfg.py'), '--resume'])
    assert resumed.iter == EPOCH_LEN * EPOCHS and resumed.epoch == EPOCHS
    log = open(resumed.logger.log_file).read()
    assert f'resumed epoch: 1, iter: {EPOCH_LEN + 1}' in log
    assert f'epoch 2: resuming after its first 1 of {EPOCH_LEN} batches' in log
    reference = run_state(whole)
    for key in state_keys:   # the method's state is in the compared state dict and was trained
        assert key in reference[0]
    assert_same_run(run_state(resumed), reference)


def simipu_config(work_dir, data_root, num_workers):
    """SimIPU on the 4 synthetic frames: 2 epochs of 2 batches, both optimisers and the
    per-epoch decay as configured; iteration checkpoints after the 1st batch of epoch 2 and at
    the end."""
    cfg = simipu_on_frames(data_root, num_points=512, num_workers=num_workers)
    cfg.work_dir, cfg.device = str(work_dir), 'cpu'
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=3, by_epoch=False)
    cfg.log_processor = dict(by_epoch=True)
    return cfg


def test_simipu_killed_mid_epoch_resumes_exactly(tmp_path, synthetic_kitti):
    """SimIPU's point and image encoders, heads, BN statistics, both optimisers (AdamW and SGD)
    and the epoch-wise decay, with the views drawn in 2 DataLoader workers: killed having trained
    iteration 4 (the 2nd batch of epoch 2), resumed from the checkpoint of iteration 3."""
    cfg = simipu_config(tmp_path / 'split', synthetic_kitti, num_workers=2)
    child = start_killable_run(cfg, at=4, tmp_path=tmp_path)
    try:
        whole = SSLRunner.from_cfg(simipu_config(tmp_path / 'whole', synthetic_kitti, 0))
        whole.train()
    finally:
        kill_when_hanging(child, tmp_path)
    work = tmp_path / 'split'
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_3.pth')

    cfg.dump(str(tmp_path / 'cfg.py'))
    resumed = train_tool().main([str(tmp_path / 'cfg.py'), '--resume'])
    assert resumed.iter == whole.iter == 4 and resumed.epoch == 2
    log = open(resumed.logger.log_file).read()
    assert 'epoch 2: resuming after its first 1 of 2 batches' in log
    reference = run_state(whole)
    assert set(reference[1]) == {'encoder', 'others'}
    for key in ('encoder.conv_input.1.running_mean', 'image_cross_head.0.weight'):
        assert key in reference[0], key
    assert_same_run(run_state(resumed), reference)


def served_views(dataset, num_workers, skip_first_batch_of=None):
    """{(epoch, sample index): (view B points, image)} for 2 epochs of batches of 2, as a training
    DataLoader serves them, and the order of the indices served."""
    sampler = SeededSampler(dataset, seed=3)
    loader = DataLoader(dataset, batch_size=2, sampler=sampler, collate_fn=pseudo_collate,
                        num_workers=num_workers, persistent_workers=num_workers > 0)
    views, order = {}, []
    for epoch in range(2):
        sampler.set_epoch(epoch)
        if epoch == skip_first_batch_of:
            sampler.skip(2)
        for batch in loader:
            for idx, points_b, image in zip(batch['idx'], batch['points_b'], batch['image']):
                views[epoch, idx] = points_b, image
                order.append((epoch, idx))
    return views, order


def test_dataset_augmentation_depends_only_on_seed_epoch_and_index(synthetic_kitti):
    # SimIPU's point sampling, view-B augmentation and image flip run in the dataset
    pipeline = [dict(type='GlobalAugment'), dict(type='ImageResizeFlip', scale_range=(640, 192))]
    dataset = KittiPointImageDataset(synthetic_kitti, 'kitti_infos_trainval.pkl', num_points=512,
                                     pipeline=pipeline)   # 4 frames
    rng_before = torch.get_rng_state(), np.random.get_state()[1].copy()
    dataset[SampleIndex(0, seed=5)]   # loading leaves the run's generators alone
    assert torch.equal(torch.get_rng_state(), rng_before[0])
    assert np.array_equal(np.random.get_state()[1], rng_before[1])
    in_process, order = served_views(dataset, num_workers=0)
    # two persistent workers (each keeps its own dataset copy and RNG), epoch 1 resumed after its
    # first batch: the other samples are served in the same order with the same augmentation
    in_workers, resumed_order = served_views(dataset, num_workers=2, skip_first_batch_of=1)
    assert resumed_order == order[:4] + order[6:]
    for key in resumed_order:
        assert torch.equal(in_workers[key][0], in_process[key][0]), key
        assert torch.equal(in_workers[key][1], in_process[key][1]), key
    # and the augmentation is drawn anew each epoch
    assert not any(torch.equal(in_process[0, i][0], in_process[1, i][0]) for i in range(4))
