"""tools/train.py as a researcher meets it: checkpoint pruning, the console, one run per work dir,
Ctrl-C, config variables set from the command line, and the mmpretrain-style switches."""
import os
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mmengine.config import Config

from conftest import DIGITS_CONFIGS, ROOT, tiny_config
from mm_ssl.engine import SSLRunner
from mm_ssl.engine.cli import load_config
from mm_ssl.engine.runner import interrupt_after
from mm_ssl.errors import ConfigError

SIMCLR = os.path.join(ROOT, DIGITS_CONFIGS['SimCLR'])


def train_tool(*args, **kwargs):
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    env.pop('MM_SSL_TRACEBACK', None)
    return subprocess.Popen([sys.executable, 'tools/train.py', *map(str, args)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)


def wait_for(path: Path, proc, timeout=300):
    start = time.monotonic()
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - start < timeout, f'{path} not written in {timeout} s'
        time.sleep(0.2)


def slow_tiny_config(tmp_path, max_iters=10_000):
    """A digits SimCLR config file that trains long enough to be interrupted, saving every 2
    iterations."""
    cfg = tiny_config('SimCLR', str(tmp_path / 'work'), max_iters=max_iters, batch_size=8)
    cfg.default_hooks.logger.interval = 10_000
    path = tmp_path / 'slow.py'
    cfg.dump(str(path))
    return path


def test_old_checkpoints_are_deleted_also_after_resume(tmp_path):
    """max_keep_ckpts=2: mmengine's deque(maxlen=2) forgot expired ids, so nothing was deleted."""
    cfg = tiny_config('SimCLR', str(tmp_path), max_iters=4, batch_size=8, checkpoint_interval=1)
    cfg.default_hooks.checkpoint.max_keep_ckpts = 2
    SSLRunner.from_cfg(cfg).train()
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == ['iter_3.pth', 'iter_4.pth']
    cfg = tiny_config('SimCLR', str(tmp_path), max_iters=6, batch_size=8, checkpoint_interval=1)
    cfg.default_hooks.checkpoint.max_keep_ckpts = 2
    cfg.resume = True
    SSLRunner.from_cfg(cfg).train()
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == ['iter_5.pth', 'iter_6.pth']


def test_console_is_short_and_the_log_file_complete(tmp_path):
    """An epoch-based digits run with --no-validate: no config dump, hook table or environment
    block on the console (they are in the log file), a progress line, one log line per epoch
    although the logger interval is longer than the epoch, no validation."""
    work = tmp_path / 'work'
    proc = train_tool(SIMCLR, '--work-dir', work, '--no-validate', '--cfg-options',
                      'train_dataloader.batch_size=64', 'train_dataloader.dataset.split=test',
                      'train_cfg.max_epochs=2', 'train_cfg.val_interval=1',
                      'default_hooks.logger.interval=50')
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-3000:]
    console = stdout + stderr
    for dump in ('Config:', 'Hooks will be executed', 'System environment', 'GPU number',
                 'FileClient', 'is not installed', 'Failed to search registry'):
        assert dump not in console, dump
    assert len(console.splitlines()) < 25, console
    assert 'SimCLR on cpu' in console
    assert 'train: 100%' in stdout and '10/10' in stdout
    assert console.count('Epoch(train) [1][5/5]') == 1 and 'Epoch(train) [2][5/5]' in console
    assert 'knn_top1' not in console
    log = next(work.glob('*/*.log')).read_text()
    assert 'Config:' in log and 'Hooks will be executed' in log and 'System environment' in log


def test_a_second_run_into_a_busy_work_dir_stops_naming_the_holder(tmp_path):
    config = slow_tiny_config(tmp_path)
    first = train_tool(config)
    try:
        wait_for(tmp_path / 'work' / 'iter_2.pth', first)
        second = train_tool(config, '--cfg-options', 'randomness.seed=1')
        _, stderr = second.communicate(timeout=120)
        assert second.returncode == 2, stderr[-3000:]
        assert stderr.strip() == (f'error: {tmp_path / "work"}: another run is writing into this '
                                  f'work dir (pid {first.pid} on {os.uname().nodename}); wait '
                                  'for it, or pick another --work-dir'), stderr
        assert first.poll() is None   # the first run goes on
    finally:
        first.kill()
        first.communicate()


def test_ctrl_c_is_one_line_with_the_resume_command(tmp_path):
    """Ctrl-C reaches the whole foreground process group (main process and loader workers)."""
    config = slow_tiny_config(tmp_path)
    work = tmp_path / 'work'
    proc = train_tool(config, '--cfg-options', 'train_dataloader.num_workers=2',
                      start_new_session=True)
    wait_for(work / 'iter_2.pth', proc)
    time.sleep(1)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-3000:]
    assert 'Traceback' not in stderr and 'KeyboardInterrupt' not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.startswith('interrupted')]
    assert len(lines) == 1 and len(stderr.strip().splitlines()) <= 3, stderr[-3000:]
    last = (work / 'last_checkpoint').read_text()
    assert lines[0].startswith('interrupted at iteration ')
    assert f'last checkpoint {last}; continue with: python tools/train.py {config} ' \
           f'--work-dir {work} --resume' in lines[0]
    assert not (work / '.mm_ssl.lock').exists()


def test_an_interrupt_during_a_checkpoint_save_waits_for_the_save():
    """mmengine's save formats the config under a bare `except:` that turned a Ctrl-C into a
    SyntaxError quoting the whole config; SSLRunner.save_checkpoint holds the interrupt."""
    done = []
    with pytest.raises(KeyboardInterrupt):
        with interrupt_after():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.1)
            done.append(True)
    assert done == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_config_variable_from_the_command_line_reaches_the_paths_it_built(tmp_path):
    path = tmp_path / 'paths.py'
    path.write_text("data_root = 'data/kitti'\n"
                    "train_dataloader = dict(dataset=dict(data_root=data_root, "
                    "ann_file=data_root + '/infos.pkl', other='data/kitti_raw'))\n"
                    "max_epochs = 5\ntrain_cfg = dict(max_epochs=max_epochs)\n")
    cfg = load_config(str(path), {'data_root': '/mnt/kitti'})
    assert cfg.data_root == '/mnt/kitti'
    assert cfg.train_dataloader.dataset.to_dict() == dict(
        data_root='/mnt/kitti', ann_file='/mnt/kitti/infos.pkl', other='data/kitti_raw')
    with pytest.raises(ConfigError, match=r"'max_epochs' is a variable .* train_cfg.max_epochs"):
        load_config(str(path), {'max_epochs': 7})
    with pytest.raises(ConfigError, match=r"no top-level key 'data_rot' .*'data_root'"):
        load_config(str(path), {'data_rot': '/x'})
    assert load_config(str(path), {'train_cfg.max_epochs': 7}).train_cfg.max_epochs == 7


def test_auto_scale_lr_scales_by_the_batch(tmp_path):
    """--auto-scale-lr with batch 16 against the config's base batch of 256: lr x 1/16."""
    tool = runpy.run_path(os.path.join(ROOT, 'tools/train.py'), run_name='tool_under_test')
    apply_switches, parse_args = tool['apply_switches'], tool['parse_args']
    args = parse_args([SIMCLR, '--auto-scale-lr', '--no-validate'])
    cfg = tiny_config('SimCLR', str(tmp_path), max_iters=1, batch_size=16)
    cfg.auto_scale_lr = dict(base_batch_size=256)
    apply_switches(cfg, args)
    assert cfg.auto_scale_lr.enable and cfg.val_cfg is None
    base_lr = cfg.optim_wrapper.optimizer.lr
    runner = SSLRunner.from_cfg(cfg)
    runner.train()
    assert runner.optim_wrapper.param_groups[0]['initial_lr'] == pytest.approx(base_lr / 16)
    cfg = Config(dict(auto_scale_lr=dict(enable=False)))
    with pytest.raises(ConfigError, match='no auto_scale_lr.base_batch_size'):
        apply_switches(cfg, args)
