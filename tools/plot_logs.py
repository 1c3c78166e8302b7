"""Plot a run's training curves: python tools/plot_logs.py WORK_DIR [--out curves.png]

Reads the scalars mmengine's LocalVisBackend wrote (``<work_dir>/<timestamp>/vis_data/
scalars.json``, the newest run when there are several) and draws the losses against iterations
next to the accuracies (online probe during training, kNN at validation)."""
import argparse
import os.path as osp

from mm_ssl.engine.cli import exit_on_error
from mm_ssl.engine.log_plot import plot


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('work_dir')
    parser.add_argument('--out', help='PNG path (default: <work_dir>/curves.png)')
    args = parser.parse_args(argv)
    print(f'wrote {plot(args.work_dir, args.out or osp.join(args.work_dir, "curves.png"))}')


if __name__ == '__main__':
    with exit_on_error():
        main()
