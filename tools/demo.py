"""The demo behind ``make demo``, on embedded data only.

``--task lidar`` (the default, mm_ssl's main job): generate the synthetic KITTI set if it is
absent, pretrain the sparse point encoder with SimIPU (LiDAR + camera, no labels), then fine-tune a
CenterPoint-style detector from the pretrained encoder and from scratch on a few labelled frames
and print the BEV / 3D AP table over 3 seeds (:mod:`benchmarks.transfer_det3d` does the same with
more options). ``--finetune`` picks how: with the encoder frozen (head only: what the features
alone carry), whole, or both. On a CPU the default is frozen, which keeps the demo near 10
minutes on 2 cores (whole fine-tuning adds ~9); on a GPU it is both.

``--task video``: a synthetic motion-class video set, one temporal task (``--video-method``,
default time-contrastive learning, the one that beats its random init at this budget) pretrained
for about a minute with the small 3D CNN, retrieval and linear-probe accuracy against random init
(:mod:`mm_ssl.evaluation.video_benchmark`; ``benchmarks/video_tasks.py`` compares all the
temporal tasks).

``--task digits``: SimCLR on scikit-learn's digits, then kNN and linear-probe accuracy of the
pretrained encoder against the same encoder randomly initialised, and the training curves as a PNG.

Re-running resumes from the work dir.
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import time
from pathlib import Path

import torch

from mm_ssl.engine import SSLRunner
from mm_ssl.engine.cli import exit_on_error, load_config, positive_int
from mm_ssl.engine.log_plot import plot
from mm_ssl.evaluation.video_benchmark import METHODS as VIDEO_METHODS
from mm_ssl.evaluation.video_benchmark import compare_video_methods, results_table

ROOT = Path(__file__).resolve().parents[1]
DIGITS_CONFIG = 'configs/simclr/simclr_resnet18_1xb256-20e_digits.py'
LIDAR_CONFIG = 'configs/simipu/simipu_voxelnet-r18_1xb2-cpu-demo_synthetic-kitti.py'
# 96 frames: 72 unlabelled ones to pretrain on (the first 16 of them also labelled for
# fine-tuning), 24 held out for the AP.
SYNTHETIC_KITTI = dict(frames=96, seed=0, val_fraction=0.25)
# --finetune: which fine-tunings run (freeze_encoder values), and how the log names them
FINETUNE_MODES = {'frozen': (True,), 'full': (False,), 'both': (False, True)}
FINETUNE_WORDS = {'frozen': 'with the encoder frozen', 'full': 'whole',
                  'both': 'whole and with the encoder frozen'}


def pretrain(cfg, work_dir, epochs=None):
    """Train ``cfg`` into ``work_dir`` (resuming a previous run there); returns the last
    checkpoint and the minutes spent."""
    if epochs:
        cfg.train_cfg.max_epochs = epochs
        if cfg.param_scheduler[-1].get('end'):
            cfg.param_scheduler[-1].end = epochs
        if 'val_interval' in cfg.train_cfg:
            cfg.train_cfg.val_interval = min(cfg.train_cfg.val_interval, epochs)
    cfg.work_dir, cfg.resume = work_dir, True
    start = time.time()
    SSLRunner.from_cfg(cfg).train()
    return osp.join(work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth'), (time.time() - start) / 60


def ensure_synthetic_kitti(root: Path, frames: int):
    """Write the synthetic KITTI tree and its infos unless an earlier demo did."""
    if (root / 'kitti_infos_train.pkl').is_file():
        print(f'      using {root} (delete it to regenerate)', flush=True)
        return
    params = dict(SYNTHETIC_KITTI, frames=frames)
    make = [sys.executable, str(ROOT / 'data_prep/make_synthetic_kitti.py'), '--out', str(root),
            '--workers', '2'] + [f'--{k.replace("_", "-")}={v}' for k, v in params.items()]
    infos = [sys.executable, str(ROOT / 'data_prep/create_kitti_infos.py'), '--root', str(root),
             '--workers', '2']
    for cmd in (make, infos):
        subprocess.run(cmd, check=True)


def lidar_demo(args):
    from mm_ssl.evaluation.det3d import (compare_transfer, encoder_state, paired_gains,
                                         plot_finetune_losses, transfer_table)

    root = Path(args.data_root)
    print(f'[1/3] synthetic KITTI ({args.frames} frames, 64-beam LiDAR + camera) -> {root}',
          flush=True)
    ensure_synthetic_kitti(root, args.frames)

    cfg = load_config(args.lidar_config)
    cfg.train_dataloader.dataset.data_root = str(root)
    work_dir = osp.join(args.work_dir, 'simipu')
    print(f'[2/3] SimIPU pretraining (no labels) -> {work_dir}', flush=True)
    checkpoint, minutes = pretrain(cfg, work_dir, args.epochs)

    print('[3/3] transfer to 3D detection: SimIPU-pretrained vs randomly initialised encoder, '
          f'fine-tuned {FINETUNE_WORDS[args.finetune]}', flush=True)
    pre = cfg.model.data_preprocessor
    encoders = {'scratch': None, 'SimIPU': encoder_state(checkpoint)}
    results = {}
    for frozen in FINETUNE_MODES[args.finetune]:
        runs = compare_transfer(root, pre.voxel_size, pre.point_range, encoders,
                                seeds=range(args.seeds), iters=args.finetune_iters,
                                labelled_frames=args.labelled_frames, freeze_encoder=frozen,
                                device=args.device)
        results.update({f'frozen encoder: {k}' if frozen else k: v for k, v in runs.items()})
    table = transfer_table(results)
    curves = plot_finetune_losses(results, osp.join(args.work_dir, 'transfer_det3d_losses.png'))
    print(f'\n{table}\n\nmean ± std over {args.seeds} seeds; pretraining took {minutes:.1f} min; '
          f'fine-tuning losses: {curves}\npaired by seed:\n{paired_gains(results)}')
    with open(osp.join(args.work_dir, 'transfer_det3d.json'), 'w') as f:
        json.dump(dict(config=args.lidar_config, checkpoint=checkpoint, pretrain_minutes=minutes,
                       table=table, results=results), f, indent=1)
    return results


def digits_demo(args):
    from mm_ssl.evaluation import build_model, evaluate

    cfg = load_config(args.digits_config)
    work_dir = osp.join(args.work_dir, 'simclr_digits')
    print(f'[1/3] SimCLR pretraining on digits -> {work_dir}', flush=True)
    checkpoint, minutes = pretrain(cfg, work_dir, args.epochs)

    print('[2/3] frozen-encoder evaluation: pretrained vs random init', flush=True)
    rows = {name: evaluate(cfg, build_model(cfg, ckpt), verbose=False)
            for name, ckpt in (('random init', None), ('SimCLR', checkpoint))}

    curves = plot(work_dir, osp.join(args.work_dir, 'simclr_digits_curves.png'))
    print('[3/3] results (digits test split, top-1 %)\n')
    print('| encoder (ResNet-18) | kNN (k=200) | linear probe |')
    print('|---------------------|-------------|--------------|')
    for name, r in rows.items():
        print(f'| {name:<19} | {r["knn_top1"]:11.2f} | {r["linear_top1"]:12.2f} |')
    print(f'\npretraining took {minutes:.1f} min; curves: {curves}')
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(dict(config=args.digits_config, checkpoint=checkpoint, results=rows,
                       pretrain_minutes=minutes), f, indent=2)
    return rows


def video_demo(args):
    print(f'[video] {args.video_method} pretraining on synthetic motion videos', flush=True)
    results = compare_video_methods([args.video_method], args.video_budget, args.video_seeds,
                                    args.videos, log=lambda line: print(line, flush=True))
    print('\n' + results_table(results))
    return results


TASKS = {'lidar': lidar_demo, 'video': video_demo, 'digits': digits_demo}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--task', nargs='+', choices=sorted(TASKS), default=['lidar'])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--epochs', type=int, help='shorter or longer pretraining')
    parser.add_argument('--data-root', default='data/synthetic_kitti',
                        help='synthetic KITTI tree (written if absent)')
    parser.add_argument('--lidar-config', default=LIDAR_CONFIG)
    parser.add_argument('--digits-config', default=DIGITS_CONFIG)
    parser.add_argument('--frames', type=int, default=SYNTHETIC_KITTI['frames'],
                        help='synthetic KITTI frames to generate (a quarter held out for AP)')
    parser.add_argument('--labelled-frames', type=positive_int, default=16,
                        help='train frames whose labels the detector is fine-tuned on')
    parser.add_argument('--seeds', type=positive_int, default=3,
                        help='fine-tuning seeds per encoder')
    parser.add_argument('--finetune-iters', type=positive_int, default=150)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu',
                        help='where the detectors are fine-tuned (pretraining follows mmengine)')
    parser.add_argument('--finetune', choices=sorted(FINETUNE_MODES),
                        help='detectors fine-tuned with the encoder frozen, whole, or both '
                             '(default: both on a GPU, frozen on a CPU, where whole fine-tuning '
                             'of 6 detectors takes ~9 min)')
    parser.add_argument('--video-method', default='time-contrastive',
                        choices=list(VIDEO_METHODS), help='the temporal task of --task video')
    parser.add_argument('--video-budget', type=float, default=60,
                        help='CPU seconds of video pretraining per seed')
    parser.add_argument('--video-seeds', type=positive_int, default=1)
    parser.add_argument('--videos', type=positive_int, default=800,
                        help='synthetic videos generated for --task video (70%% train)')
    args = parser.parse_args(argv)
    if args.finetune is None:
        args.finetune = 'both' if torch.device(args.device).type == 'cuda' else 'frozen'
    Path(args.work_dir).mkdir(parents=True, exist_ok=True)
    return {task: TASKS[task](args) for task in args.task}


if __name__ == '__main__':
    with exit_on_error():
        main()
