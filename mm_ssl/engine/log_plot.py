"""A run's training curves from the scalars mmengine's LocalVisBackend wrote
(``<work_dir>/<timestamp>/vis_data/scalars.json``): losses against iterations next to the
accuracies (online probe during training, kNN at validation). ``tools/plot_logs.py`` is the
command; ``tools/demo.py`` draws its curves with it too."""
import glob
import json
import os.path as osp

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from mm_ssl.errors import DataError  # noqa: E402

__all__ = ['read_scalars', 'plot']


def read_scalars(work_dir: str) -> tuple[list[dict], list[dict]]:
    """(train records, val records) of the newest run in ``work_dir``. Val records get the
    ``iter`` of the training step they followed."""
    runs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not runs:
        raise DataError(f'{work_dir}: no */vis_data/scalars.json (is this a work dir of '
                        'tools/train.py with LocalVisBackend?)')
    train, val = [], []
    with open(runs[-1]) as f:
        for line in f:
            record = json.loads(line)
            (train if 'loss' in record else val).append(record)
    by_epoch = bool(train) and all('epoch' in r for r in train)
    for record in val:
        if by_epoch:   # val steps count epochs: place them at the last iteration of that epoch
            done = [r['iter'] for r in train if r['epoch'] <= record['step']]
            record['iter'] = done[-1] if done else 0
        else:
            record['iter'] = record['step']
    return train, val


def plot(work_dir: str, out: str) -> str:
    train, val = read_scalars(work_dir)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for key in sorted({k for r in train for k in r if k.startswith('loss')}):
        points = [(r['iter'], r[key]) for r in train if key in r]
        ax_loss.plot(*zip(*points), label=key)
    ax_loss.set(xlabel='iteration', ylabel='loss', title='training losses')
    ax_loss.legend()
    for key in sorted({k for r in train + val for k in r if 'acc' in k or 'top1' in k}):
        points = [(r['iter'], r[key]) for r in train + val if key in r]
        ax_acc.plot(*zip(*sorted(points)), marker='o' if any(key in r for r in val) else None,
                    label=key)
    ax_acc.set(xlabel='iteration', ylabel='accuracy (%)', title='accuracy', ylim=(0, 100))
    ax_acc.legend()
    fig.suptitle(osp.basename(osp.normpath(work_dir)))
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
