"""Label-efficiency curves of the detection probe: the transfer of :mod:`.transfer` repeated on
nested labelled subsets of the train split (5, 10, 20 and 100% by default), as LiDAR SSL work
reports it (SLidR on KITTI with 5 / 10 / 20% of the labels, ProposalContrast on Waymo with 5%).

The share ``s`` labels the first ``ceil(s * N)`` of the N ``train`` frames, so the subsets are
nested and the same for every encoder. Within a share, every encoder gets the same iteration
budget and, per seed, the same head initialisation and frame order
(:func:`~.transfer.compare_on_frames`): a paired difference against ``scratch`` isolates where
the encoder started. The budget is the same at every share (more epochs over fewer frames),
which is how a fixed-schedule fine-tuning meets a smaller labelled set.

Example::

    curves = label_efficiency('data/synthetic_kitti_600', VOXEL, RANGE,
                              {'scratch': None, 'SimIPU': encoder_state(ckpt)}, iters=1000,
                              modes=('full', 'frozen'))
    print(label_efficiency_table(curves['full'], 'bev', 'mAP'))
    plot_label_efficiency(curves, 'label_efficiency.png')
"""
import math
import time
from fractions import Fraction

import numpy as np

from .transfer import (compare_on_frames, gain_text, load_labelled_frames, mean_and_spread,
                       paired_differences, spread_text)

LABEL_SHARES = (5, 10, 20, 100)
# fine-tuning modes: whether the encoder is frozen, and how tables and plots name the mode
FROZEN = {'full': False, 'frozen': True}
MODE_TITLES = {'full': 'full fine-tuning', 'frozen': 'frozen encoder'}
METRIC_TITLES = {'bev': 'BEV', '3d': '3D'}
# (metric, class) of the tables and plot panels: the means over classes, and the car class, the
# one with enough boxes to be measured at 5% of the labels
CURVE_PANELS = (('bev', 'mAP'), ('3d', 'mAP'), ('bev', 'Car'))


def labelled_subsets(frames, shares=LABEL_SHARES):
    """``{share: frames[:ceil(share / 100 * len(frames))]}`` with ``share`` in percent, in
    (0, 100]: nested prefixes of one frame or more. Exact in decimal: 10% of 450 frames is 45,
    where float arithmetic could round up to 46."""
    subsets = {}
    for share in shares:
        if not 0 < share <= 100:
            raise ValueError(f'label share {share}% is not in (0, 100]')
        subsets[share] = frames[:math.ceil(Fraction(str(share)) * len(frames) / 100)]
    return subsets


def label_efficiency(root, voxel_size, point_range, encoders, shares=LABEL_SHARES,
                     seeds=(0, 1, 2), iters=150, modes=('full',), batch_size=2, lr=3e-3,
                     val=('', 'val'), device='cpu', encoder_lr_mult=1.0, log=print):
    """One detection-transfer comparison per fine-tuning mode and label share: the encoders of
    ``encoders`` (name -> state dict, None for scratch) fine-tuned on
    :func:`labelled_subsets` of ``root``'s ``train`` split and scored on ``val`` ((root, split),
    an empty root meaning ``root``), all on the same held-out frames.

    Args:
        modes: 'full' (the whole detector trains) and / or 'frozen' (the head only).

    Returns:
        ``{mode: {share: compare_on_frames result}}``, which the table, gain and plot functions
        of this module take (one curve = ``result[mode]``).
    """
    unknown = [m for m in modes if m not in FROZEN]
    if unknown:
        raise ValueError(f'fine-tuning modes {unknown}: not among {list(FROZEN)}')
    train = load_labelled_frames(root, 'train', point_range)
    held_out = load_labelled_frames(val[0] or root, val[1], point_range)
    subsets = labelled_subsets(train, shares)
    curves, total, finished, start = {}, len(modes) * len(subsets), 0, time.perf_counter()
    for mode in modes:
        curves[mode] = {}
        for share, frames in subsets.items():
            log(f'[curve point {finished + 1} of {total}: {MODE_TITLES[mode]}, {share:g}% of '
                f'the labels = {len(frames)} of {len(train)} train frames]')
            curves[mode][share] = compare_on_frames(
                frames, held_out, voxel_size, point_range, encoders, seeds, iters, batch_size, lr,
                FROZEN[mode], device, encoder_lr_mult, log)
            finished += 1
            minutes = (time.perf_counter() - start) / 60
            # every point costs the same iterations; the frozen mode's feature caching and the
            # evaluation are small next to them at a useful budget
            log(f'[{finished} of {total} curve points in {minutes:.1f} min, about '
                f'{minutes / finished * (total - finished):.0f} min left]')
    return curves


def curve_gains(curve, metric='bev', cls='mAP', baseline='scratch'):
    """Per-seed paired differences against ``baseline`` along a curve (``{share: result}``):
    ``{encoder: {share: [AP - baseline's AP, per seed]}}`` for every other encoder."""
    names = list(next(iter(curve.values())))
    return {name: {share: paired_differences(runs[name], runs[baseline], metric, cls)
                   for share, runs in curve.items()}
            for name in names if name != baseline}


def label_efficiency_table(curve, metric='bev', cls='mAP', baseline='scratch'):
    """Markdown table of one curve (``{share: compare_on_frames result}``): a row per encoder,
    a column per label share (with its frame count), cells ``mean ± std`` of the AP over seeds;
    then a row per other encoder with its paired gain over ``baseline``, ``+g ± s (better in k
    of n seeds)``, when ``baseline`` ran."""
    shares = list(curve)
    names = list(curve[shares[0]])
    frames = [len(next(iter(curve[s].values()))['frames']) for s in shares]
    lines = [f'| {METRIC_TITLES[metric]} AP R40, {cls} | '
             + ' | '.join(f'{s:g}% ({n} frames)' for s, n in zip(shares, frames)) + ' |',
             '|---|' + '---:|' * len(shares)]
    for name in names:
        lines.append(f'| {name} | ' + ' | '.join(
            spread_text([ap[metric][cls] for ap in curve[s][name]['ap']]) for s in shares) + ' |')
    if baseline in names:
        for name, gains in curve_gains(curve, metric, cls, baseline).items():
            lines.append(f'| {name} - {baseline} | '
                         + ' | '.join(gain_text(gains[s]) for s in shares) + ' |')
    return '\n'.join(lines)


def plot_label_efficiency(curves, path, panels=CURVE_PANELS):
    """PNG of AP against the label share (log axis), a line per encoder with error bars of one
    std over seeds; a column per fine-tuning mode of ``curves`` (``{mode: {share: result}}``),
    a row per (metric, class) of ``panels``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(panels), len(curves), squeeze=False,
                             figsize=(5 * len(curves), 3.5 * len(panels)))
    for col, (mode, curve) in enumerate(curves.items()):
        shares = np.array(list(curve), float)
        names = list(curve[list(curve)[0]])
        for row, (metric, cls) in enumerate(panels):
            ax = axes[row, col]
            for i, name in enumerate(names):
                stats = np.array([mean_and_spread([ap[metric][cls] for ap in runs[name]['ap']])
                                  for runs in curve.values()])
                # a few percent apart on the log axis, so that the error bars do not overlap
                shift = 1.04 ** (i - (len(names) - 1) / 2)
                ax.errorbar(shares * shift, stats[:, 0], yerr=stats[:, 1], marker='o',
                            capsize=3, label=name)
            ax.set_xscale('log')
            ax.set_xticks(shares, [f'{s:g}%' for s in shares])
            ax.minorticks_off()
            ax.set(title=f'{MODE_TITLES[mode]}: {METRIC_TITLES[metric]} AP R40, {cls}',
                   xlabel='share of the labelled train frames', ylabel='AP (%)')
            ax.grid(alpha=0.3)
    axes[0, 0].legend(title='mean ± std over seeds')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
