"""Transfer of pretrained point encoders to 3D detection, on labelled synthetic KITTI frames.

Fine-tunes ``VoxelBackBone8x`` + a CenterPoint-style head from each encoder (and from scratch)
with the same budget, frame order and head initialisation per seed, then prints BEV / 3D AP (R40,
KITTI IoU thresholds) per class as mean ± std over the seeds, and plots the fine-tuning losses.

    python benchmarks/transfer_det3d.py --pretrained work_dirs/demo/simipu/epoch_4.pth \
        [--data-root data/synthetic_kitti] [--seeds 3] [--first-seed 0] [--iters 150]
        [--labelled-frames 16]
        [--val-root data/synthetic_kitti_heldout --val-split trainval]

The voxel grid is read from ``--config`` (the pretraining config), so fine-tuning uses the grid
the encoder was pretrained on.
"""
import argparse
import json
import os.path as osp
from pathlib import Path

import torch

from mm_ssl.engine.cli import exit_on_error, load_config, positive_int
from mm_ssl.evaluation.det3d import (compare_transfer, encoder_state,
                                              paired_gains, plot_finetune_losses, transfer_table)

DEFAULT_CONFIG = 'configs/simipu/simipu_voxelnet-r18_1xb2-cpu-demo_synthetic-kitti.py'


def starting_encoders(pretrained):
    """``{'scratch': None, NAME: point-encoder state}`` from ``--pretrained`` items NAME=PATH
    or PATH (named after the checkpoint's folder)."""
    encoders = {'scratch': None}
    for item in pretrained:
        name, _, path = item.rpartition('=')
        encoders[name or osp.basename(osp.dirname(path)) or path] = encoder_state(path)
    return encoders


def finetune_parser(doc):
    """The arguments of a fine-tuning run, shared with ``finetune_drift.py``."""
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--pretrained', nargs='*', default=[],
                        help='mm_ssl checkpoints (NAME=PATH or PATH) with a point encoder')
    parser.add_argument('--config', default=DEFAULT_CONFIG, help='pretraining config (grid)')
    parser.add_argument('--data-root', default='data/synthetic_kitti')
    parser.add_argument('--iters', type=positive_int, default=150)
    parser.add_argument('--labelled-frames', type=positive_int, default=16)
    parser.add_argument('--encoder-lr-mult', type=float, default=1.0,
                        help="the encoder's learning rate as a fraction of the head's")
    return parser


def main(argv=None):
    parser = finetune_parser(__doc__)
    parser.add_argument('--seeds', type=positive_int, default=3)
    parser.add_argument('--first-seed', type=int, default=0,
                        help='run seeds first-seed .. first-seed + seeds - 1')
    parser.add_argument('--val-root', default='',
                        help='score on another set (default: --data-root), e.g. one made by '
                             'make_synthetic_kitti.py with another --seed')
    parser.add_argument('--val-split', default='val')
    parser.add_argument('--frozen-encoder', action='store_true',
                        help='train the head only, on frozen encoder features')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu',
                        help='where the detectors are fine-tuned')
    parser.add_argument('--out', default='work_dirs/transfer_det3d',
                        help='folder for results.json and losses.png')
    args = parser.parse_args(argv)

    pre = load_config(args.config).model.data_preprocessor
    encoders = starting_encoders(args.pretrained)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    results = compare_transfer(args.data_root, pre.voxel_size, pre.point_range, encoders,
                               seeds=seeds, iters=args.iters,
                               labelled_frames=args.labelled_frames,
                               freeze_encoder=args.frozen_encoder,
                               val=(args.val_root, args.val_split), device=args.device,
                               encoder_lr_mult=args.encoder_lr_mult)
    table = transfer_table(results)
    seconds = ', '.join(f'{k} {v["seconds"] / args.seeds:.0f} s' for k, v in results.items())
    print(f'\n{table}\n\nmean ± std over {args.seeds} seeds; fine-tuning + eval per seed: {seconds}'
          f'\npaired by seed:\n{paired_gains(results)}')
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f'loss curves: {plot_finetune_losses(results, out / "losses.png")}')
    (out / 'results.json').write_text(json.dumps(dict(vars(args), table=table, results=results),
                                                 indent=1))
    return results


if __name__ == '__main__':
    with exit_on_error():
        main()
