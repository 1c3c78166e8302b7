"""Temporal pretext tasks vs plain clip contrastive learning vs random init, over several seeds
(:mod:`mm_ssl.evaluation.video_benchmark` runs them; its docstring gives the protocol).

``--supervised`` adds a reference row: the same encoder trained with the labels for the same
budget, which shows whether the set holds a cue this encoder can learn.

    OMP_NUM_THREADS=1 python benchmarks/video_tasks.py --budget 60 --seeds 3 [--methods vcop opn]
        [--supervised] [--out results.json]
"""
import argparse
import json

import torch

from mm_ssl.engine.cli import exit_on_error
from mm_ssl.evaluation.video_benchmark import (EVAL_INTERVAL, FPS, METHODS,
                                               compare_video_methods, results_table)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--budget', type=float, default=120,
                        help='pretraining CPU seconds per method and seed (all threads)')
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument('--videos', type=int, default=800,
                        help='videos generated (70%% train); with 200, 14 training videos per '
                             'class, even supervised training memorises them '
                             '(docs/benchmark-history.md)')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--lr', type=float,
                        help='one learning rate for every method (default: each config\'s, '
                             'scaled linearly to --batch-size)')
    parser.add_argument('--methods', nargs='*', choices=list(METHODS), default=list(METHODS),
                        metavar='METHOD', help=f'any of {", ".join(METHODS)} (default: all)')
    parser.add_argument('--data-root', help='existing synthetic set (default: generate one)')
    parser.add_argument('--supervised', action='store_true',
                        help='add the supervised reference row: the same encoder trained with '
                             'the labels for the same budget, evaluated frozen')
    parser.add_argument('--out', help='also write the per-seed results to this JSON file')
    args = parser.parse_args(argv)
    results = compare_video_methods(args.methods, args.budget, args.seeds, args.videos,
                                    args.batch_size, args.lr, args.data_root, args.supervised,
                                    log=lambda line: print(line, flush=True))
    source = args.data_root or (f'{args.videos} synthetic videos (70% train, 48 px, 2 s at '
                                f'{FPS} fps, 10 motion classes)')
    print(f'\n{source}, Small3DCNN, batch {args.batch_size}, {args.budget:.0f} CPU-s '
          f'pretraining per method and seed, {args.seeds} seeds, 8-frame eval clips every '
          f'{EVAL_INTERVAL} frames (5 per video), torch threads {torch.get_num_threads()}; '
          'mean ± std over the seeds; gain: paired with the random init of the same seed and '
          'evaluation mode\n')
    print(results_table(results))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == '__main__':
    with exit_on_error():
        main()
