"""tools/dist_train.sh: a real 2-process CPU (gloo) run of tools/train.py under torchrun, started
the way the README shows it, from a shell whose ``python`` cannot import torch. Both launchers'
interpreter choice: the project's ``.venv`` (make setup), else ``python3``, ``PYTHON`` overriding;
one error line when the chosen one lacks torch. tools/slurm_train.sh runs against a fake ``srun``
that prints its arguments (there is no Slurm here)."""
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import torch

from conftest import ROOT, tiny_config

VENV_PYTHON = Path(ROOT) / '.venv' / 'bin' / 'python'
SYSTEM_PYTHON = '/usr/bin/python3'
needs_venv = pytest.mark.skipif(not VENV_PYTHON.is_file(),
                                reason=f'{VENV_PYTHON} missing: `make setup` creates it')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture
def bin_without_torch(tmp_path):
    """A PATH folder whose ``python`` and ``python3`` are an interpreter without torch (the
    system one, as on a fresh machine), and whose ``srun`` prints its arguments, one a line."""
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.skip(f'{SYSTEM_PYTHON} missing: no torch-less interpreter to launch with')
    folder = tmp_path / 'bin'
    folder.mkdir()
    for name in ('python', 'python3'):
        (folder / name).symlink_to(SYSTEM_PYTHON)
    probe = subprocess.run([folder / 'python', '-c', 'import torch'], capture_output=True)
    if probe.returncode == 0:
        pytest.skip(f'{SYSTEM_PYTHON} imports torch: cannot stand for a bare system python')
    srun = folder / 'srun'
    srun.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    srun.chmod(0o755)
    return folder


def launch_env(bin_folder, **extra):
    # the script picks the interpreter (unless extra names one) and the module path itself
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHON', 'PYTHONPATH')}
    return dict(env, PATH=f'{bin_folder}{os.pathsep}{os.environ["PATH"]}', **extra)


@needs_venv
def test_dist_train_sh_trains_on_two_cpu_processes(tmp_path, bin_without_torch):
    cfg = tiny_config('SimCLR', str(tmp_path / 'unused'), max_iters=2, batch_size=8)
    cfg.dump(str(tmp_path / 'cfg.py'))
    work = tmp_path / 'work'
    env = launch_env(bin_without_torch, PORT=str(free_port()), OMP_NUM_THREADS='1',
                     CUDA_VISIBLE_DEVICES='')
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


def run_launcher(script, bin_folder, root=ROOT, **extra):
    args = ['configs/any.py', '2'] if script == 'dist_train.sh' else \
        ['gpu', 'job', 'configs/any.py', 'work_dirs/job', '2']
    return subprocess.run(['bash', str(Path(root) / 'tools' / script), *args], cwd=ROOT,
                          env=launch_env(bin_folder, **extra), capture_output=True, text=True,
                          timeout=60)


@needs_venv
def test_slurm_train_sh_runs_the_venv_python(bin_without_torch):
    run = run_launcher('slurm_train.sh', bin_without_torch)
    assert run.returncode == 0, run.stderr
    argv = run.stdout.splitlines()
    assert argv[argv.index('-u') - 1] == str(VENV_PYTHON)
    assert argv[argv.index('-u') + 1:argv.index('-u') + 3] == [f'{ROOT}/tools/train.py',
                                                               'configs/any.py']


@pytest.mark.parametrize('script', ['dist_train.sh', 'slurm_train.sh'])
def test_launcher_stops_at_a_python_without_torch(script, bin_without_torch):
    """PYTHON overrides the venv; an interpreter without torch is one line, before any launch."""
    python = bin_without_torch / 'python'
    run = run_launcher(script, bin_without_torch, PYTHON=str(python))
    assert run.returncode == 2 and not run.stdout, (run.stdout, run.stderr)   # srun not called
    assert run.stderr == (f"error: {python} cannot import torch: run 'make setup' or set "
                          'PYTHON=...\n')


@pytest.mark.parametrize('script', ['dist_train.sh', 'slurm_train.sh'])
def test_launcher_without_venv_falls_back_to_python3(script, bin_without_torch, tmp_path):
    """A checkout without .venv: the launcher (copied into one) uses python3 from PATH."""
    (tmp_path / 'checkout' / 'tools').mkdir(parents=True)
    for name in (script, 'project_python.sh'):
        shutil.copy(Path(ROOT) / 'tools' / name, tmp_path / 'checkout' / 'tools')
    run = run_launcher(script, bin_without_torch, root=tmp_path / 'checkout')
    assert run.returncode == 2 and not run.stdout, (run.stdout, run.stderr)
    assert run.stderr.startswith('error: python3 cannot import torch'), run.stderr
