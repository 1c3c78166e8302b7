"""Pretrain with a config: python tools/train.py CONFIG [--work-dir D] [--resume [CKPT]] ..."""
import argparse
import gc
import os
import os.path as osp
import sys
from contextlib import nullcontext

import torch

from mm_ssl.engine import SSLRunner
from mm_ssl.engine.cli import (DictAction, check_launcher, check_writable, exit_on_error,
                               load_config, lock_work_dir, refuse_overwrite, rollback_work_dir)
from mm_ssl.errors import ConfigError

INTERRUPTED = 130   # the shell's status for a process ended by SIGINT


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('config')
    parser.add_argument('--work-dir', help='default: work_dirs/<config name>')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='resume from CKPT, or from the latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision (float16 autocast with loss scaling; needs a GPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help="scale the lr by the global batch over the config's "
                             'auto_scale_lr.base_batch_size')
    parser.add_argument('--no-validate', action='store_true',
                        help='skip the validation (kNN) during training')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config entries, e.g. train_cfg.max_epochs=5')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help="'pytorch' under torchrun (NCCL on GPUs, gloo on CPUs; "
                             "tools/dist_train.sh), 'slurm' under srun (NCCL; "
                             "tools/slurm_train.sh)")
    return parser.parse_args(argv)


def apply_switches(cfg, args) -> None:
    """The mmpretrain-style switches --amp, --auto-scale-lr and --no-validate, on ``cfg``."""
    if args.amp:
        if not torch.cuda.is_available() or cfg.get('device') == 'cpu':
            raise ConfigError('--amp: mixed precision needs a GPU (mmengine\'s AmpOptimWrapper '
                              'refuses to run on the CPU); train without --amp here')
        if 'optimizer' not in cfg.optim_wrapper:
            raise ConfigError(f'--amp: {args.config} builds several optimisers '
                              '(optim_wrapper.constructor); set their wrappers\' type to '
                              'AmpOptimWrapper in the config instead')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise ConfigError(f'--auto-scale-lr: {args.config} has no '
                              'auto_scale_lr.base_batch_size (the batch its lr was set for)')
        cfg.auto_scale_lr.enable = True
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or \
        osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.launcher = args.launcher
    check_launcher(args.launcher)
    apply_switches(cfg, args)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    # one process of a distributed run holds the lock for all
    leader = os.environ.get('RANK', '0') == '0'
    runner = None
    with rollback_work_dir(cfg.work_dir):
        check_writable(cfg.work_dir)   # a read-only or full disk stops the run before any work
        with lock_work_dir(cfg.work_dir) if leader else nullcontext():
            if not args.resume and leader:
                refuse_overwrite(cfg.work_dir)
            try:
                runner = SSLRunner.from_cfg(cfg)
                runner.train()
            except BaseException as exc:
                if not interrupted(exc):
                    raise
                report_interrupt(runner, args.config, cfg.work_dir)
                raise KeyboardInterrupt from None
    if torch.distributed.is_initialized():
        # gloo's worker threads must be joined before the interpreter exits, else the process
        # ends in std::terminate ("terminate called without an active exception"); the barrier
        # keeps a rank from tearing its connections down while the other is still finishing
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return runner


def interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` is a Ctrl-C, or an error raised while handling one (a library's bare
    ``except:`` can turn it into another exception)."""
    while exc is not None:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def report_interrupt(runner, config: str, work_dir: str) -> None:
    """One line for Ctrl-C: where training stopped, the checkpoint to go on from, the command."""
    last = osp.join(work_dir, 'last_checkpoint')
    checkpoint = open(last).read().strip() if osp.isfile(last) else None
    where = f'at iteration {runner.iter} (epoch {runner.epoch + 1})' \
        if runner is not None and runner.iter else 'before the first iteration'
    if checkpoint:
        then = (f'last checkpoint {checkpoint}; continue with: python tools/train.py {config} '
                f'--work-dir {work_dir} --resume')
    else:
        then = 'no checkpoint was written yet'
    print(f'interrupted {where}; {then}', file=sys.stderr, flush=True)


if __name__ == '__main__':
    try:
        with exit_on_error():
            main()
            # the runner (in reference cycles) holds the DDP wrapper, which holds the gloo process
            # group: freed now, its threads are joined while the interpreter is whole; freed at
            # interpreter shutdown, that can abort the process (pytorch/pytorch#179291)
            gc.collect()
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED)
