"""Pretraining throughput of the LiDAR methods on the same frames: frames per CPU second of one
training process (data loading in the process, ``num_workers=0``), each method's synthetic-KITTI
config as it is, after a few warm-up iterations, with a ratio against SimIPU measured in the same
run. CPU time, not wall time: the reading stays put when other processes share the cores.

    OMP_NUM_THREADS=1 python benchmarks/bench_lidar_pretrain.py [--iters 10] [--warmup 2]
        [--data-root data/synthetic_kitti] [--configs CONFIG ...]

The synthetic KITTI tree is the demo's (``tools/demo.py --task lidar`` writes it; so does
``data_prep/make_synthetic_kitti.py`` + ``data_prep/create_kitti_infos.py``).
"""
import argparse
import os.path as osp
import tempfile
import time

import torch
from mmengine.hooks import Hook

from mm_ssl.engine import SSLRunner
from mm_ssl.engine.cli import exit_on_error, load_config, positive_int
from mm_ssl.errors import ConfigError

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# each method's CPU-demo config: the same grid, batch and frames
METHODS = (('SimIPU', 'simipu', 'simipu_voxelnet-r18'),
           ('PointContrast', 'point_contrast', 'pointcontrast_voxelnet'),
           ('DepthContrast', 'depth_contrast', 'depthcontrast_voxelnet'),
           ('Occupancy-MAE', 'occupancy_mae', 'occupancy-mae_voxelnet'),
           ('SLidR', 'slidr', 'slidr_voxelnet-r18'))
CONFIGS = {name: f'configs/{folder}/{stem}_1xb2-cpu-demo_synthetic-kitti.py'
           for name, folder, stem in METHODS}


class IterationClock(Hook):
    """CPU time of the process at the end of every training iteration."""

    def __init__(self):
        self.stamps = [time.process_time()]

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.stamps.append(time.process_time())


def frames_per_cpu_second(config: str, data_root: str, iters: int, warmup: int) -> tuple:
    """Frames per CPU second over ``iters`` iterations after ``warmup`` ones, and the batch."""
    cfg = load_config(osp.join(ROOT, config))
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.update(data_root=data_root)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=warmup + iters)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10**9, by_epoch=False)
    cfg.custom_hooks = []
    with tempfile.TemporaryDirectory() as work_dir:
        cfg.work_dir = work_dir
        runner = SSLRunner.from_cfg(cfg)
        clock = IterationClock()
        runner.register_hook(clock, priority='LOWEST')
        runner.train()
    batch = cfg.train_dataloader.batch_size
    seconds = clock.stamps[-1] - clock.stamps[warmup]
    return batch * iters / seconds, batch


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data-root', default='data/synthetic_kitti')
    parser.add_argument('--iters', type=positive_int, default=10)
    parser.add_argument('--warmup', type=positive_int, default=2)
    parser.add_argument('--methods', nargs='*', choices=list(CONFIGS), default=list(CONFIGS))
    args = parser.parse_args(argv)
    if not osp.isfile(osp.join(args.data_root, 'kitti_infos_train.pkl')):
        raise ConfigError(f'{args.data_root}: no kitti_infos_train.pkl; write the synthetic set '
                          'with tools/demo.py --task lidar (or data_prep/make_synthetic_kitti.py'
                          ' and data_prep/create_kitti_infos.py)')
    rows = {}
    for name in args.methods:
        rows[name] = frames_per_cpu_second(CONFIGS[name], args.data_root, args.iters,
                                           args.warmup)
        print(f'{name}: {rows[name][0]:.2f} frames per CPU second', flush=True)
    reference = rows.get('SimIPU', next(iter(rows.values())))[0]
    print(f'\n{args.iters} iterations after {args.warmup} warm-up, torch threads '
          f'{torch.get_num_threads()}, {args.data_root}\n')
    print('| method | config | batch | frames / CPU s | x SimIPU |')
    print('|---|---|---:|---:|---:|')
    for name, (rate, batch) in rows.items():
        print(f'| {name} | `{osp.basename(CONFIGS[name])}` | {batch} | {rate:.2f} | '
              f'{rate / reference:.2f}x |')
    return rows


if __name__ == '__main__':
    with exit_on_error():
        main()
