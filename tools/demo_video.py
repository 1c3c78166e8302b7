"""The video job of ``make demo``: writes a synthetic motion-class video set, pretrains one
temporal task (default time-contrastive learning) with the small 3D CNN and prints retrieval recall@1/5 and
linear-probe accuracy of its frozen encoder against the same encoder at random init, with the
gain, over ``--seeds`` seeds.

The pretraining / evaluation loop is the one of ``benchmarks/video_tasks.py`` (one method here,
all of them there)."""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
from video_tasks import METHODS  # noqa: E402
from video_tasks import main as compare_methods  # noqa: E402


def run_video_demo(task: str = 'time-contrastive', budget_s: float = 60, videos: int = 800,
                   data_root: str | None = None, seeds: int = 1):
    """Pretrain ``task`` (a key of ``benchmarks/video_tasks.METHODS``: ``vcop``, ``taco-simclr``,
    ...) for ``budget_s`` CPU seconds per seed and return ``{row name: [per-seed results]}``
    for random init and the task, named as the printed table names them."""
    if task not in METHODS:
        raise SystemExit(f'error: unknown task {task!r}, choose from {list(METHODS)}')
    argv = ['--methods', task, '--budget', str(budget_s), '--videos', str(videos),
            '--seeds', str(seeds)]
    return compare_methods(argv + (['--data-root', data_root] if data_root else []))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--task', default='time-contrastive', choices=list(METHODS))
    parser.add_argument('--budget', type=float, default=60,
                        help='pretraining CPU seconds per seed')
    parser.add_argument('--videos', type=int, default=800)
    parser.add_argument('--seeds', type=int, default=1)
    args = parser.parse_args(argv)
    return run_video_demo(args.task, args.budget, args.videos, seeds=args.seeds)


if __name__ == '__main__':
    main()
