"""Never lose work: atomic checkpoints under SIGKILL, the NaN / inf loss guard, grad clipping."""
import glob
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from conftest import ROOT, tiny_config
from mm_ssl.algorithms.simclr import SimCLR
from mm_ssl.engine import SSLRunner
from mm_ssl.errors import NonFiniteLossError
from mm_ssl.registry import MODELS

# trains from a config file; the save of iter_4.pth writes half its bytes, tells the test
# (creates argv[2]) and hangs, so the test can SIGKILL it in the middle of the save
KILLED_MID_SAVE = '''
import sys, time
import mm_ssl
from mmengine.config import Config
from mmengine.fileio.backends.local_backend import LocalBackend
from mm_ssl.engine import SSLRunner

put = LocalBackend.put

def put_and_hang_in_iter_4(self, obj, filepath):
    if 'iter_4' not in str(filepath):
        return put(self, obj, filepath)
    with open(filepath, 'wb') as f:
        f.write(obj[:len(obj) // 2])
        f.flush()
    open(sys.argv[2], 'w').close()
    time.sleep(600)

LocalBackend.put = put_and_hang_in_iter_4
SSLRunner.from_cfg(Config.fromfile(sys.argv[1])).train()
'''


def small_config(work_dir, max_iters, checkpoint_interval=2, **model):
    return tiny_config('SimCLR', str(work_dir), max_iters=max_iters, batch_size=16,
                       checkpoint_interval=checkpoint_interval, **model)


def trainable(model):
    return {k: v.detach().clone() for k, v in model.named_parameters()}


def test_kill_during_save_keeps_previous_checkpoint_and_resumes(tmp_path):
    work = tmp_path / 'work'
    cfg = small_config(work, max_iters=4)
    cfg.default_hooks.checkpoint.max_keep_ckpts = 1   # mmengine deleted iter_2 before saving
    cfg.dump(str(tmp_path / 'cfg.py'))
    saving = tmp_path / 'saving'
    with open(tmp_path / 'child.log', 'w') as log:
        child = subprocess.Popen([sys.executable, '-c', KILLED_MID_SAVE, str(tmp_path / 'cfg.py'),
                                  str(saving)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                 env=dict(os.environ, OMP_NUM_THREADS='1'))
        deadline = time.time() + 300
        while not saving.exists() and child.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert saving.exists(), (tmp_path / 'child.log').read_text()[-3000:]
    assert child.returncode == -signal.SIGKILL

    assert not (work / 'iter_4.pth').exists()   # the half-written file never got the final name
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_2.pth')
    previous = torch.load(work / 'iter_2.pth', map_location='cpu', weights_only=True)
    assert previous['meta']['iter'] == 2 and 'optimizer' in previous

    cfg = small_config(work, max_iters=4)
    cfg.resume = True
    runner = SSLRunner.from_cfg(cfg)
    runner.train()
    final = torch.load(work / 'iter_4.pth', map_location='cpu', weights_only=True)
    assert final['meta']['iter'] == 4
    assert not torch.equal(final['state_dict']['encoder.conv1.weight'],
                           previous['state_dict']['encoder.conv1.weight'])


@MODELS.register_module(force=True)
class SimCLRWithBadTerm(SimCLR):
    """SimCLR plus a loss term ``loss_bad`` that is 0 except at the training iterations
    ``bad_iters`` (1-based), where it is ``bad_value``."""

    def __init__(self, bad_iters=(), bad_value=float('nan'), **kwargs):
        super().__init__(**kwargs)
        self.bad_iters, self.bad_value, self.iteration = bad_iters, bad_value, 0

    def compute_loss(self, views):
        losses, feats = super().compute_loss(views)
        self.iteration += 1
        offset = self.bad_value if self.iteration in self.bad_iters else 0.0
        losses['loss_bad'] = feats.sum() * 0 + offset
        return losses, feats


def test_nonfinite_loss_stops_before_the_step_and_keeps_the_last_checkpoint(tmp_path):
    cfg = small_config(tmp_path, max_iters=6, type='SimCLRWithBadTerm', bad_iters=(5,),
                       bad_value=float('inf'))
    runner = SSLRunner.from_cfg(cfg)
    with pytest.raises(NonFiniteLossError) as error:
        runner.train()
    message = str(error.value)
    assert 'iteration 5:' in message and 'loss_bad=inf' in message
    assert 'loss=' not in message   # the finite SimCLR term is not blamed
    assert str(tmp_path / 'iter_4.pth') in message
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_4.pth')
    assert not (tmp_path / 'iter_6.pth').exists()
    saved = torch.load(tmp_path / 'iter_4.pth', map_location='cpu', weights_only=True)
    for name, param in trainable(runner.model).items():   # iteration 5 updated nothing
        assert torch.equal(param.cpu(), saved['state_dict'][name]), name


def test_skip_nonfinite_skips_steps_without_any_update(tmp_path):
    cfg = small_config(tmp_path, max_iters=4, checkpoint_interval=1, type='SimCLRWithBadTerm',
                       bad_iters=(2, 4))
    cfg.skip_nonfinite = 2
    SSLRunner.from_cfg(cfg).train()
    states = [torch.load(tmp_path / f'iter_{i}.pth', map_location='cpu',
                         weights_only=True)['state_dict'] for i in range(1, 5)]
    for skipped in (1, 3):   # iterations 2 and 4 left weights, BN statistics, buffers as they were
        for name, value in states[skipped - 1].items():
            assert torch.equal(states[skipped][name], value), (skipped + 1, name)
    assert not torch.equal(states[2]['encoder.conv1.weight'], states[1]['encoder.conv1.weight'])
    log = open(glob.glob(str(tmp_path / '*' / '*.log'))[0]).read()
    skips = [line for line in log.splitlines() if 'step skipped' in line]
    assert len(skips) == 2
    assert 'iteration 2: non-finite loss (loss_bad=nan)' in skips[0]
    assert 'iteration 4:' in skips[1] and '2 of skip_nonfinite=2 used' in skips[1]


def test_clip_grad_switch_in_the_image_schedule_limits_the_step():
    cfg = Config.fromfile(osp.join(ROOT, 'configs/simclr/simclr_resnet18_1xb256-100e_digits.py'))
    assert cfg.optim_wrapper.clip_grad is None   # the switch is there, off by default
    cfg.optim_wrapper.clip_grad = dict(max_norm=0.01)
    cfg.optim_wrapper.optimizer = dict(type='SGD', lr=1.0, momentum=0.0, weight_decay=0.0)
    model = torch.nn.Linear(8, 4)
    before = [p.detach().clone() for p in model.parameters()]
    loss = model(torch.full((2, 8), 10.0)).pow(2).sum()
    build_optim_wrapper(model, cfg.optim_wrapper).update_params(loss)
    # plain SGD with lr=1 moves the weights by the clipped gradient: norm exactly max_norm
    step = torch.cat([(p.detach() - b).flatten() for p, b in zip(model.parameters(), before)])
    assert step.norm().item() == pytest.approx(0.01, rel=1e-4)
