"""Pretrain with a config: python tools/train.py CONFIG [--work-dir D] [--resume [CKPT]] ..."""
import argparse
import os.path as osp

import torch

from mm_ssl.engine import SSLRunner
from mm_ssl.engine.cli import (DictAction, check_writable, exit_on_error, load_config,
                               rollback_work_dir)

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('config')
    parser.add_argument('--work-dir', help='default: work_dirs/<config name>')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='resume from CKPT, or from the latest checkpoint in the work dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config entries, e.g. train_cfg.max_epochs=5')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help="'pytorch' under torchrun (NCCL on GPUs, gloo on CPUs; "
                             "tools/dist_train.sh), 'slurm' under srun (NCCL; "
                             "tools/slurm_train.sh)")
    return parser.parse_args(argv)

def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or \
        osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.launcher = args.launcher
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    with rollback_work_dir(cfg.work_dir):
        check_writable(cfg.work_dir)   # a read-only or full disk stops the run before any work
        runner = SSLRunner.from_cfg(cfg)
        runner.train()
    if torch.distributed.is_initialized():
        # gloo's worker threads must be joined before the interpreter exits, else the process
        # ends in std::terminate ("terminate called without an active exception")
        torch.distributed.destroy_process_group()
    return runner

if __name__ == '__main__':
    with exit_on_error():
        main()
