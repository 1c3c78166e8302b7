"""tools/dist_train.sh: a real 2-process CPU (gloo) run of tools/train.py under torchrun."""
import os
import socket
import subprocess
import sys

import torch

from conftest import ROOT, tiny_config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_dist_train_sh_trains_on_two_cpu_processes(tmp_path):
    cfg = tiny_config('SimCLR', str(tmp_path / 'unused'), max_iters=2, batch_size=8)
    cfg.dump(str(tmp_path / 'cfg.py'))
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()), OMP_NUM_THREADS='1',
               CUDA_VISIBLE_DEVICES='')
    env.pop('PYTHONPATH', None)   # the script itself puts the repository first
    run = subprocess.run(['bash', 'tools/dist_train.sh', str(tmp_path / 'cfg.py'), '2',
                          '--work-dir', str(work)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    # a rank that dies says why in its own lines, far above torchrun's summary at the end
    why = [line for line in (run.stdout + run.stderr).splitlines()
           if any(k in line for k in ('Error', 'error:', 'terminate', 'what()', 'Abort'))]
    assert run.returncode == 0, '\n'.join(why[-30:]) + '\n...\n' + run.stderr[-1500:]
    ckpt = torch.load(work / 'iter_2.pth', map_location='cpu', weights_only=True)
    assert ckpt['meta']['iter'] == 2
    log = next(work.glob('*/*.log')).read_text()
    # no CUDA here: mmengine's NCCL init would have failed, SSLRunner's gloo path ran
    assert 'Distributed launcher: pytorch' in log and 'Distributed training: True' in log
    assert 'Iter(train) [2/2]' in log
