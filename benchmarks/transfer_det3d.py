"""Transfer of pretrained point encoders to 3D detection, on labelled synthetic KITTI frames.

Fine-tunes ``VoxelBackBone8x`` + a CenterPoint-style head from each encoder (and from scratch)
with the same budget, frame order and head initialisation per seed, then prints BEV / 3D AP (R40,
KITTI IoU thresholds) per class as mean ± std over the seeds, and plots the fine-tuning losses.

    python benchmarks/transfer_det3d.py --pretrained work_dirs/demo/simipu/epoch_4.pth \
        [--data-root data/synthetic_kitti] [--seeds 3] [--first-seed 0] [--iters 150]
        [--labelled-frames 16] [--frozen-encoder | --both-modes]
        [--val-root data/synthetic_kitti_heldout --val-split trainval]

The voxel grid is read from ``--config`` (the pretraining config), so fine-tuning uses the grid
the encoder was pretrained on.

Label-efficiency curves (``--label-shares``, issue 20): fine-tuning on the first 5, 10, 20 and
100% of the train frames (nested subsets, the same for every encoder; the same iterations at
every share), scored on the same held-out frames. Written to stdout and ``--out`` (default
``work_dirs/label_efficiency/``): one table per fine-tuning mode and metric (BEV mAP, 3D mAP,
BEV car AP; a row per encoder, a column per share, then the paired gains over scratch) in
``label_efficiency.md`` with the command, the plot ``label_efficiency.png`` (AP against the
share, error bars one std over seeds) and ``results.json`` (every run, the per-seed gains).

Their data, 600 frames (450 train, 150 val; seed 21, other scenes than the demo's seed-0 set),
generated once: 9.3 min with one process on a shared 2-core machine, 1.4 GB:

    python data_prep/make_synthetic_kitti.py --out data/synthetic_kitti_600 --frames 600 \
        --seed 21 --val-fraction 0.25 [--workers N]

(``python data_prep/create_kitti_infos.py --root data/synthetic_kitti_600`` adds the infos, to
pretrain on the same frames too.) The full curves, for a GPU: 4 shares x both modes x 3 seeds
per encoder, 3,000 iterations a run (13 epochs of the 450 frames at batch 2, 260 of the 23
frames of 5%); one NAME=CKPT per pretrained encoder:

    python benchmarks/transfer_det3d.py --data-root data/synthetic_kitti_600 \
        --label-shares 5 10 20 100 --both-modes --seeds 3 --iters 3000 --device cuda \
        --pretrained SimIPU=work_dirs/simipu_2k/epoch_6.pth [NAME=CKPT ...]

Not run on a GPU yet. On a CPU (a shared 2-core machine, 1 thread) a full fine-tuning
iteration takes 1.6 s, a head-only one (--frozen-encoder) 0.76 s, and every run adds 0.25-0.35 s
per labelled frame for BN statistics (and the frozen features: 2.4 GB for 450 frames on this
grid) and 0.5 min of evaluation. 260 iterations from scratch on the 450 frames (11 min) reached
BEV AP car 51.2, pedestrian 34.5, cyclist 19.1 (mAP 34.9; 3D mAP 13.5), one seed. That budget
is the reduced CPU curve, about 33 min per encoder and seed (3.3 h for scratch and one encoder):

    python benchmarks/transfer_det3d.py --data-root data/synthetic_kitti_600 \
        --label-shares 5 10 20 100 --seeds 3 --iters 260 --device cpu \
        --pretrained SimIPU=work_dirs/demo/simipu/epoch_4.pth
"""
import argparse
import json
import os.path as osp
import shlex
import sys
from pathlib import Path

import torch

from mm_ssl.engine.cli import exit_on_error, load_config, positive_float, positive_int
from mm_ssl.evaluation.det3d import (CURVE_PANELS, MODE_TITLES, compare_transfer, curve_gains,
                                     encoder_state, label_efficiency, label_efficiency_table,
                                     paired_gains, plot_finetune_losses, plot_label_efficiency,
                                     transfer_table)

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
    parser.add_argument('--label-shares', type=positive_float, nargs='+', metavar='PERCENT',
                        help='a label-efficiency curve: fine-tune on the first ceil(P%% x N) of '
                             'the N train frames for each P (instead of --labelled-frames), '
                             'e.g. 5 10 20 100')
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument('--frozen-encoder', action='store_true',
                       help='train the head only, on frozen encoder features')
    modes.add_argument('--both-modes', action='store_true',
                       help='fine-tune whole detectors, then again with the encoder frozen')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu',
                        help='where the detectors are fine-tuned')
    parser.add_argument('--out', help='output folder (default work_dirs/transfer_det3d, or '
                                      'work_dirs/label_efficiency with --label-shares)')
    args = parser.parse_args(argv)
    if args.label_shares and max(args.label_shares) > 100:
        parser.error(f'--label-shares: {max(args.label_shares):g} is over 100 (%)')
    args.modes = ('full', 'frozen') if args.both_modes else \
        ('frozen',) if args.frozen_encoder else ('full',)
    args.command = shlex.join(['python', 'benchmarks/transfer_det3d.py',
                               *(sys.argv[1:] if argv is None else argv)])

    pre = load_config(args.config).model.data_preprocessor
    encoders = starting_encoders(args.pretrained)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    run = curves_report if args.label_shares else comparison_report
    out = Path(args.out or ('work_dirs/label_efficiency' if args.label_shares
                            else 'work_dirs/transfer_det3d'))
    return run(args, pre.voxel_size, pre.point_range, encoders, seeds, out)


def comparison_report(args, voxel_size, point_range, encoders, seeds, out):
    """The transfer on the first --labelled-frames frames: a table of every encoder (per mode),
    paired gains, loss curves (``losses.png``) and ``results.json`` in ``out``."""
    results = {}
    for mode in args.modes:
        runs = compare_transfer(args.data_root, voxel_size, point_range, encoders, seeds=seeds,
                                iters=args.iters, labelled_frames=args.labelled_frames,
                                freeze_encoder=mode == 'frozen',
                                val=(args.val_root, args.val_split), device=args.device,
                                encoder_lr_mult=args.encoder_lr_mult)
        results.update({f'{MODE_TITLES[mode]}: {k}' if mode == 'frozen' else k: v
                        for k, v in runs.items()})
    table = transfer_table(results)
    seconds = ', '.join(f'{k} {v["seconds"] / args.seeds:.0f} s' for k, v in results.items())
    print(f'\n{table}\n\nmean ± std over {args.seeds} seeds; fine-tuning + eval per seed: {seconds}'
          f'\npaired by seed:\n{paired_gains(results)}')
    out.mkdir(parents=True, exist_ok=True)
    print(f'loss curves: {plot_finetune_losses(results, out / "losses.png")}')
    (out / 'results.json').write_text(json.dumps(dict(vars(args), table=table, results=results),
                                                 indent=1))
    return results


def curves_report(args, voxel_size, point_range, encoders, seeds, out):
    """The label-efficiency curves: per mode and (metric, class) of ``CURVE_PANELS`` a table,
    printed and written to ``label_efficiency.md`` with the command; the plot
    ``label_efficiency.png``; and ``results.json`` with every run and the per-seed paired gains
    over scratch."""
    curves = label_efficiency(args.data_root, voxel_size, point_range, encoders,
                              shares=args.label_shares, seeds=seeds, iters=args.iters,
                              modes=args.modes, val=(args.val_root, args.val_split),
                              device=args.device, encoder_lr_mult=args.encoder_lr_mult)
    tables, gains = {}, {}
    for mode, curve in curves.items():
        for metric, cls in CURVE_PANELS:
            title = f'{MODE_TITLES[mode]}, {metric.upper()} AP R40 {cls}'
            tables[title] = label_efficiency_table(curve, metric, cls)
            gains[title] = curve_gains(curve, metric, cls)
    minutes = sum(runs['seconds'] for curve in curves.values() for results in curve.values()
                  for runs in results.values()) / 60
    report = '\n\n'.join(f'### {title}\n\n{table}' for title, table in tables.items()) + (
        f'\n\nAP in %, mean ± std over {args.seeds} seeds ({list(seeds)}), {args.iters} '
        f'iterations per run at every share, scored on {args.val_root or args.data_root} '
        f'({args.val_split}); gains paired by seed (same head initialisation and frame order). '
        f'{minutes:.1f} min of fine-tuning and evaluation on {args.device}.\n\n'
        f'```\n{args.command}\n```\n')
    print(f'\n{report}')
    out.mkdir(parents=True, exist_ok=True)
    (out / 'label_efficiency.md').write_text(report)
    print(f'tables: {out / "label_efficiency.md"}\n'
          f'plot: {plot_label_efficiency(curves, out / "label_efficiency.png")}')
    (out / 'results.json').write_text(json.dumps(
        dict(vars(args), tables=tables, paired_gains=gains, curves=curves), indent=1))
    return curves


if __name__ == '__main__':
    with exit_on_error():
        main()
