"""The video job of ``make demo``: writes a small synthetic motion-class video set, pretrains one
temporal task (default VCOP, about a minute on 2 CPU cores) with the small 3D CNN and prints
retrieval recall@1/5 and linear-probe accuracy of its frozen encoder against random init.

The pretraining / evaluation loop is the one of ``benchmarks/video_tasks.py`` (one method here,
all of them there)."""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
from video_tasks import METHODS  # noqa: E402
from video_tasks import main as compare_methods  # noqa: E402


def run_video_demo(task: str = 'vcop', budget_s: float = 60, videos: int = 40,
                   data_root: str | None = None):
    """Pretrain ``task`` (a key of ``benchmarks/video_tasks.METHODS``: ``vcop``, ``taco-simclr``,
    ...) for ``budget_s`` seconds and return the rows ``(method, steps, pretext loss, metrics)``
    for random init and the task, named as the printed table names them."""
    if task not in METHODS:
        raise SystemExit(f'error: unknown task {task!r}, choose from {list(METHODS)}')
    argv = ['--methods', task, '--budget', str(budget_s), '--videos', str(videos)]
    return compare_methods(argv + (['--data-root', data_root] if data_root else []))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--task', default='vcop', choices=list(METHODS))
    parser.add_argument('--budget', type=float, default=60, help='pretraining seconds')
    parser.add_argument('--videos', type=int, default=40)
    args = parser.parse_args(argv)
    return run_video_demo(args.task, args.budget, args.videos)


if __name__ == '__main__':
    main()
