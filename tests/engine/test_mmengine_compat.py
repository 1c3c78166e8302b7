"""The three mmengine 0.10.7 breakages on this stack (BRIEF.md §1). Each test fails when the
corresponding fix in mm_ssl.engine.compat / mm_ssl.engine.runner is removed."""
import os
import subprocess
import sys
import textwrap

import torch

from conftest import ROOT, tiny_config
from mm_ssl.engine import SSLRunner


def test_resume_checkpoint_loads_under_torch_safe_loader(tmp_path):
    """torch >= 2.6 loads with weights_only=True; mmengine's checkpoints hold HistoryBuffers."""
    cfg = tiny_config('SimCLR', str(tmp_path), max_iters=2, batch_size=8)
    SSLRunner.from_cfg(cfg).train()
    ckpt = torch.load(tmp_path / 'iter_2.pth', map_location='cpu')   # default: weights_only
    assert ckpt['meta']['iter'] == 2
    assert 'train/loss' in ckpt['message_hub']['log_scalars']
    cfg = tiny_config('SimCLR', str(tmp_path), max_iters=3, batch_size=8)
    cfg.resume = True
    runner = SSLRunner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 3


def test_pkg_config_base_without_pkg_resources(tmp_path):
    """setuptools >= 82 has no pkg_resources; ``mm_ssl::`` bases must still resolve."""
    user_cfg = tmp_path / 'my_simclr.py'
    user_cfg.write_text("_base_ = 'mm_ssl::simclr/simclr_resnet18_1xb256-100e_digits.py'\n"
                        "train_dataloader = dict(batch_size=64)\n")
    script = textwrap.dedent(f"""
        import sys
        sys.modules['pkg_resources'] = None   # as with setuptools >= 82: importing it fails
        import mm_ssl
        from mmengine.config import Config
        cfg = Config.fromfile({str(user_cfg)!r})
        assert cfg.model.type == 'SimCLR' and cfg.train_dataloader.batch_size == 64
        from mmengine.utils import get_installed_path, is_installed
        assert is_installed('mm_ssl') and not is_installed('not_a_package_xyz')
        assert get_installed_path('mm_ssl') == {os.path.join(ROOT, 'mm_ssl')!r}
        print('ok')
    """)
    out = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                         cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == 'ok', out.stderr[-2000:]


def test_distributed_training_on_cpu_with_gloo(tmp_path):
    """launcher='pytorch' without CUDA: gloo process group, DDP without device ids, sync_bn and
    per-rank seeds from the config."""
    script = tmp_path / 'run.py'
    script.write_text(textwrap.dedent(f"""
        import os, sys, torch
        sys.path.insert(0, {os.path.join(ROOT, 'tests')!r})
        torch.set_num_threads(1)
        from conftest import tiny_config
        from mm_ssl.engine import SSLRunner
        cfg = tiny_config('SimCLR', {str(tmp_path / 'work')!r}, max_iters=2, batch_size=8)
        cfg.launcher = 'pytorch'
        cfg.randomness = dict(seed=3, diff_rank_seed=True)
        cfg.sync_bn = 'torch'
        runner = SSLRunner.from_cfg(cfg)
        runner.train()
        import torch.distributed as dist
        from mm_ssl.ops.sync_bn import CPUSyncBatchNorm
        assert dist.get_backend() == 'gloo' and dist.get_world_size() == 2
        model = runner.model.module
        assert isinstance(model.encoder.bn1, CPUSyncBatchNorm)
        draw = torch.randint(2**30, (4,), generator=model.data_preprocessor._generator())
        state = dict(model.state_dict(), torch_seed=torch.tensor(torch.initial_seed()), draw=draw)
        torch.save(state, {str(tmp_path)!r} + f'/rank{{dist.get_rank()}}.pt')
    """))
    # PYTHONPATH: the processes import this checkout's mm_ssl, not an installed copy (a path
    # already set is kept after it: it may be where the dependencies are)
    path = [ROOT] + [p for p in [os.environ.get('PYTHONPATH')] if p]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join(path))
    out = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
                          '--master_port', str(29500 + os.getpid() % 1000), str(script)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    a, b = (torch.load(tmp_path / f'rank{r}.pt') for r in (0, 1))
    # diff_rank_seed: rank r is seeded with seed + r; augmentation draws differ per rank
    assert (int(a.pop('torch_seed')), int(b.pop('torch_seed'))) == (3, 4)
    assert not torch.equal(a.pop('draw'), b.pop('draw'))
    # DDP keeps the parameters identical, rank 0's buffers are broadcast at wrapping, and with
    # sync_bn the BN running statistics stay identical too
    assert int(a['data_preprocessor.aug_seed']) == 3
    assert len(a) > 50 and all(torch.equal(a[k], b[k]) for k in a)
