"""Transfer of a point encoder to 3D detection, measured inside the suite: ``VoxelBackBone8x`` +
a CenterPoint-style BEV head (:class:`~mm_ssl.evaluation.det3d.head.CenterHead`) fine-tuned on
labelled KITTI-format frames and scored with KITTI's BEV / 3D AP (R40).

This is a probe of the encoder, not a detector to deploy: no data augmentation, no second stage,
no rotated NMS, the same budget for every encoder, so the only difference between two runs is the
encoder's initial weights (and the seed).

Example::

    frames = load_labelled_frames('data/synthetic_kitti', 'train', POINT_RANGE)
    det = VoxelCenterDetector(VOXEL, POINT_RANGE)
    det.encoder.load_state_dict(encoder_state(ckpt))     # or leave it randomly initialised
    finetune(det, frames, iters=200, seed=0)
    detection_ap(det, load_labelled_frames(root, 'val', POINT_RANGE))
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import spconv.pytorch as spconv
import torch
import torch.nn as nn
from PIL import Image

from mm_ssl.datasets.kitti_io import (camera_box_to_lidar, lidar2cam, lidar_to_image, read_calib,
                                      read_label, read_points)
from mm_ssl.errors import DataError
from mm_ssl.models.checkpoint import read_checkpoint
from mm_ssl.models.encoders import VoxelBackBone8x
from mm_ssl.models.export import point_encoder_state
from mm_ssl.transforms.points import range_filter, voxelize_batch

from .ap import average_precision
from .head import CenterHead, to_bev

CLASSES = ('Car', 'Pedestrian', 'Cyclist')
# KITTI's neighbouring classes: a Van detected as a Car (a sitting person as a Pedestrian) is
# neither a TP nor a FP, as in the official devkit.
IGNORED_AS = {'Van': 'Car', 'Person_sitting': 'Pedestrian'}


@dataclass
class LabelledFrame:
    """One frame's camera-frustum LiDAR points and its LiDAR-frame boxes.

    Shape: points (N, 4); boxes (G, 7) (x, y, z, l, w, h, yaw); labels (G,) indices into
    :data:`CLASSES`; ignore (G,) bool.
    """
    name: str
    points: torch.Tensor
    boxes: torch.Tensor
    labels: torch.Tensor
    ignore: torch.Tensor


def load_labelled_frame(root, name, point_range, camera=2) -> LabelledFrame:
    """Frame ``name`` of ``root/training``: points inside ``point_range`` that project into the
    image (KITTI labels only cover the camera's field of view) and the labelled objects whose
    centre lies in the range; DontCare and other classes are dropped."""
    folder = Path(root) / 'training'
    calib = read_calib(folder / 'calib' / f'{name}.txt', camera)
    points = read_points(folder / 'velodyne' / f'{name}.bin', 4)
    image_path = folder / f'image_{camera}' / f'{name}.png'
    try:
        with Image.open(image_path) as im:   # reads the header only
            width, height = im.size
    except OSError as exc:
        raise DataError(f'{image_path}: cannot read image size ({exc})') from exc
    uv, depth = lidar_to_image(points[:, :3], calib, camera)
    in_view = (depth > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < width) & (uv[:, 1] >= 0) & \
        (uv[:, 1] < height)
    points = range_filter(torch.from_numpy(points[in_view]), point_range)

    objects = [o for o in read_label(folder / 'label_2' / f'{name}.txt')
               if o['type'] in CLASSES or o['type'] in IGNORED_AS]
    cam_boxes = np.array([[*o['location'], o['dimensions'][2], o['dimensions'][0],
                           o['dimensions'][1], o['rotation_y']] for o in objects]).reshape(-1, 7)
    boxes = camera_box_to_lidar(cam_boxes, lidar2cam(calib, camera))
    lo, hi = np.array(point_range[:3]), np.array(point_range[3:])
    inside = ((boxes[:, :3] >= lo) & (boxes[:, :3] < hi)).all(1)
    types = [IGNORED_AS.get(o['type'], o['type']) for o in objects]
    return LabelledFrame(
        name, points, torch.from_numpy(boxes[inside]).float(),
        torch.tensor([CLASSES.index(t) for t, k in zip(types, inside) if k], dtype=torch.long),
        torch.tensor([o['type'] in IGNORED_AS for o, k in zip(objects, inside) if k],
                     dtype=torch.bool))


def load_labelled_frames(root, split, point_range, limit=None, camera=2):
    """The frames listed in ``root/ImageSets/<split>.txt`` (the first ``limit`` of them)."""
    listing = Path(root) / 'ImageSets' / f'{split}.txt'
    if not listing.is_file():
        raise DataError(f'{listing}: missing split file')
    names = listing.read_text().split()[:limit]
    if not names:
        raise DataError(f'{listing}: lists no frames')
    return [load_labelled_frame(root, n, point_range, camera) for n in names]


class VoxelCenterDetector(nn.Module):
    """``VoxelBackBone8x`` -> height-to-channel BEV map -> :class:`CenterHead`, as CenterPoint's
    voxel model without its 2D RPN trunk (the head's own convs play that part).

    Shape:
        forward(points): list of B (N_b, 4) clouds -> dict of BEV maps (see CenterHead.forward).
    """

    def __init__(self, voxel_size, point_range, num_classes=len(CLASSES), head_hidden=64):
        super().__init__()
        self.voxel_size, self.point_range = tuple(voxel_size), tuple(point_range)
        self.encoder = VoxelBackBone8x(4, voxel_size, point_range)
        z_out = self._encoded_depth(self.encoder.sparse_shape[0])
        self.head = CenterHead(self.encoder.feat_dim * z_out, num_classes, voxel_size, point_range,
                               out_stride=8, hidden=head_hidden)

    @staticmethod
    def _encoded_depth(z):
        """z cells after conv2..conv4 (k3, s2, padding 1, 1, 0) and conv_out (k3, s2, no pad)."""
        for pad in (1, 1, 0, 0):
            z = (z + 2 * pad - 3) // 2 + 1
        return z

    def bev(self, points):
        """The encoder's BEV map (B, C * Z, Y, X) of a list of B clouds: the head's input."""
        feats, coords, _ = voxelize_batch(points, self.voxel_size, self.point_range)
        device = next(self.parameters()).device   # voxelised on the CPU
        sp = spconv.SparseConvTensor(feats.to(device), coords.to(device),
                                     self.encoder.sparse_shape, len(points))
        return to_bev(self.encoder(sp)['encoded_spconv_tensor'])

    def forward(self, points):
        return self.head(self.bev(points))

    def loss(self, frames, bev=None):
        """Head losses on ``frames``; ``bev`` (their BEV maps) skips the encoder."""
        preds = self.head(self.bev([f.points for f in frames]) if bev is None else bev)
        # ignored boxes (vans, sitting people) are not targets: the AP does not count them either
        targets = self.head.targets([f.boxes[~f.ignore] for f in frames],
                                    [f.labels[~f.ignore] for f in frames],
                                    preds['heatmap'].shape[-2:])
        device = preds['heatmap'].device
        return self.head.loss(preds, {k: v.to(device) for k, v in targets.items()})

    @torch.no_grad()
    def predict(self, frames, score_threshold=0.05):
        return [tuple(t.cpu() for t in det)
                for det in self.head.decode(self([f.points for f in frames]), score_threshold)]


def encoder_state(checkpoint):
    """The point encoder's weights from an mm_ssl checkpoint (:func:`point_encoder_state`)."""
    return point_encoder_state(read_checkpoint(str(checkpoint)), str(checkpoint))


def finetune(detector, frames, iters=200, batch_size=2, lr=3e-3, seed=0, freeze_encoder=False,
             encoder_lr_mult=1.0, log_every=0, log=print):
    """Train the detector with AdamW and a one-cycle schedule, OpenPCDet's ``adam_onecycle``
    recipe for SECOND / CenterPoint; the frame order is drawn from ``seed``; BN statistics are
    recomputed at the end (:func:`precise_bn`). Returns the per-iteration total loss.

    ``freeze_encoder`` trains the head only, on the encoder's features (a linear-probe-like test
    of what pretraining put into them): the encoder's BN statistics are first set on ``frames``
    (so a random encoder is not penalised by statistics it never had), then it stays in eval mode
    and each frame's BEV map is computed once, so an iteration costs only the head.
    ``encoder_lr_mult`` scales the encoder's learning rate (the head keeps ``lr``): below 1 the
    encoder stays nearer its starting weights.
    """
    gen = torch.Generator().manual_seed(seed)
    cached_bev = None
    if freeze_encoder:
        precise_bn(detector, frames, batch_size)
        detector.encoder.requires_grad_(False).eval()
        with torch.no_grad():   # eval-mode BN and sparse convs act on each cloud on its own
            cached_bev = [detector.bev([f.points]) for f in frames]
    trained = detector.head if freeze_encoder else detector
    groups = [dict(params=detector.head.parameters(), lr=lr)]
    if not freeze_encoder:
        groups.append(dict(params=detector.encoder.parameters(), lr=lr * encoder_lr_mult))
    opt = torch.optim.AdamW(groups, betas=(0.95, 0.99), weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g['lr'] for g in groups],
                                                total_steps=iters, pct_start=0.4, div_factor=10)
    trained.train()
    order, losses, start = [], [], time.perf_counter()
    for it in range(iters):
        while len(order) < batch_size:   # fewer labelled frames than a batch: repeat them
            order += torch.randperm(len(frames), generator=gen).tolist()
        picked = [order.pop() for _ in range(batch_size)]
        bev = None if cached_bev is None else torch.cat([cached_bev[i] for i in picked])
        parts = detector.loss([frames[i] for i in picked], bev)
        loss = sum(parts.values())
        if not torch.isfinite(loss):
            raise FloatingPointError(f'fine-tuning diverged at iteration {it}: '
                                     + ', '.join(f'{k}={v.item():.4g}' for k, v in parts.items()))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(trained.parameters(), 10.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if log_every and ((it + 1) % log_every == 0 or it + 1 == iters):
            log(f'    iter {it + 1}/{iters}  loss {np.mean(losses[-log_every:]):.3f}  '
                f'{(time.perf_counter() - start) / (it + 1):.2f} s/iter')
    precise_bn(detector, frames, batch_size, trained)
    return losses


def finetune_drift(detector, frames, iters, seed, encoder_lr_mult):
    """Fine-tune ``detector`` (:func:`finetune`) and return how far its encoder moved:
    ``|W - W0| / |W0|`` over every conv weight (dim > 1), overall and per top-level layer
    (``conv_input``, ``conv1`` .. ``conv4``, ``conv_out``)."""
    start = {k: v.detach().clone() for k, v in detector.encoder.named_parameters() if v.dim() > 1}
    finetune(detector, frames, iters=iters, seed=seed, encoder_lr_mult=encoder_lr_mult,
             log=lambda *_: None)
    now = dict(detector.encoder.named_parameters())
    moved = {k: (now[k].detach() - w0).norm() ** 2 for k, w0 in start.items()}
    norm = {k: w0.norm() ** 2 for k, w0 in start.items()}
    layers = {}
    for k in start:
        layer = layers.setdefault(k.split('.')[0], [0.0, 0.0])
        layer[0] += moved[k]
        layer[1] += norm[k]
    overall = (sum(moved.values()) / sum(norm.values())).sqrt().item()
    return overall, {name: (m / n).sqrt().item() for name, (m, n) in layers.items()}


@torch.no_grad()
def precise_bn(model, frames, batch_size=2, part=None):
    """Replace the BN running statistics of ``part`` (default: all of ``model``) by their
    average over ``frames`` at the current weights ("precise BN", Wu & Johnson 2021,
    "Rethinking 'Batch' in BatchNorm"). A short fine-tuning needs it: with OpenPCDet's BN
    momentum of 0.01, 150 steps leave 22% of the running statistics at their initial values, and
    eval-mode outputs would be far from train-mode ones."""
    part = model if part is None else part
    bns = [m for m in part.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None          # cumulative moving average: the plain mean over batches
    model.eval()
    part.train()
    for i in range(0, len(frames), batch_size):
        model([f.points for f in frames[i:i + batch_size]])
    for bn, momentum in zip(bns, momenta):
        bn.momentum = momentum


def detection_ap(detector, frames, batch_size=4, score_threshold=0.05):
    """BEV and 3D AP (R40, KITTI IoU thresholds: Car 0.7, Pedestrian / Cyclist 0.5) per class.

    Returns ``{'bev': {class: AP, 'mAP': ...}, '3d': {...}}`` in percent (NaN for a class without
    ground truth).
    """
    detector.eval()
    preds = []
    for i in range(0, len(frames), batch_size):
        preds += detector.predict(frames[i:i + batch_size], score_threshold)
    args = ([f.boxes.numpy() for f in frames], [f.labels.numpy() for f in frames],
            [b.numpy() for b, _, _ in preds], [lab.numpy() for _, _, lab in preds],
            [s.numpy() for _, s, _ in preds], CLASSES)
    ignore = [f.ignore.numpy() for f in frames]
    return {metric: average_precision(*args, metric=metric, gt_ignore=ignore)
            for metric in ('bev', '3d')}


def mean_and_spread(values):
    """Mean and sample standard deviation, NaN-aware (a class absent from the val frames)."""
    v = np.asarray(values, np.float64)
    v = v[~np.isnan(v)]
    if not len(v):
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def spread_text(values):
    """``'mean ± std'`` of :func:`mean_and_spread`, to one decimal; ``'n/a'`` without values."""
    m, s = mean_and_spread(values)
    return 'n/a' if math.isnan(m) else f'{m:.1f} ± {s:.1f}'


def compare_transfer(root, voxel_size, point_range, encoders, seeds=(0, 1, 2), iters=150,
                     labelled_frames=16, batch_size=2, lr=3e-3, freeze_encoder=False,
                     val=('', 'val'), device='cpu', encoder_lr_mult=1.0, log=print):
    """Fine-tune one detector per (encoder, seed) on the first ``labelled_frames`` frames of
    ``train`` and score it on ``val`` (:func:`compare_on_frames`).

    Args:
        val: (root, split) of the frames to score on; an empty root means ``root``. A separately
            generated set gives more held-out frames than the pretraining set's ``val``.

    Returns:
        ``{name: {'ap': [per-seed detection_ap], 'loss': [per-seed loss curves], 'seconds': s,
        'frames': [labelled frame names]}}``.
    """
    train = load_labelled_frames(root, 'train', point_range, limit=labelled_frames)
    val = load_labelled_frames(val[0] or root, val[1], point_range)
    return compare_on_frames(train, val, voxel_size, point_range, encoders, seeds, iters,
                             batch_size, lr, freeze_encoder, device, encoder_lr_mult, log)


def compare_on_frames(train, val, voxel_size, point_range, encoders, seeds=(0, 1, 2), iters=150,
                      batch_size=2, lr=3e-3, freeze_encoder=False, device='cpu',
                      encoder_lr_mult=1.0, log=print):
    """Fine-tune one detector per (encoder, seed) on the labelled frames ``train`` and score it
    on ``val``, every encoder with the same budget, frame order and head initialisation for a
    given seed.

    Args:
        encoders: name -> encoder state dict, or None for a random initialisation.
        device: where the detectors train; 'cuda' runs spconv's own kernels. Each detector is
            initialised on the CPU from its seed, so the starting weights do not depend on it.

    Returns:
        as :func:`compare_transfer`.
    """
    log(f'fine-tuning on {len(train)} labelled frames ({sum(len(f.boxes) for f in train)} boxes),'
        f' evaluating on {len(val)} ({sum(len(f.boxes) for f in val)} boxes); {iters} iterations '
        f'x batch {batch_size}, seeds {list(seeds)}')
    results = {}
    for name, state in encoders.items():
        runs = results[name] = dict(ap=[], loss=[], seconds=0.0, frames=[f.name for f in train])
        for seed in seeds:
            torch.manual_seed(seed)
            detector = VoxelCenterDetector(voxel_size, point_range)
            if state is not None:
                detector.encoder.load_state_dict(state)
            detector.to(device)
            start = time.perf_counter()
            log(f'  {name}, seed {seed}')
            runs['loss'].append(finetune(detector, train, iters, batch_size, lr, seed,
                                         freeze_encoder, encoder_lr_mult,
                                         log_every=max(1, iters // 3), log=log))
            runs['ap'].append(detection_ap(detector, val))
            runs['seconds'] += time.perf_counter() - start
            log('    BEV AP ' + '  '.join(f'{k} {v:.1f}' for k, v in runs['ap'][-1]['bev'].items()))
    return results


def transfer_table(results):
    """Markdown table: mean ± std over seeds of BEV / 3D AP per class, one column per encoder."""
    names = list(results)
    first = results[names[0]]['ap'][0]
    lines = ['| metric | class | ' + ' | '.join(names) + ' |',
             '|---|---|' + '---:|' * len(names)]
    for metric in ('bev', '3d'):
        for cls in first[metric]:
            cells = [spread_text([ap[metric][cls] for ap in results[name]['ap']])
                     for name in names]
            lines.append(f'| {metric.upper()} AP R40 | {cls} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def paired_gains(results, metric='bev', cls='mAP'):
    """One line per pretrained encoder: its AP minus the ``scratch`` run's of the same seed, mean
    ± std over seeds and how many seeds it wins. A seed fixes the head initialisation and frame
    order, so a pair differs only in where the encoder started, and the paired spread is smaller
    than the spread of either column. Names ``'<group>: <encoder>'`` are compared with
    ``'<group>: scratch'`` (e.g. ``'frozen encoder: SimIPU'``)."""
    lines = []
    for name, runs in results.items():
        group, _, encoder = name.rpartition(': ')
        baseline = f'{group}: scratch' if group else 'scratch'
        if encoder == 'scratch' or baseline not in results:
            continue
        diff = paired_differences(runs, results[baseline], metric, cls)
        lines.append(f'{name} - {baseline}, {metric.upper()} {cls}: {gain_text(diff)}')
    return '\n'.join(lines)


def paired_differences(runs, baseline, metric='bev', cls='mAP'):
    """Per seed, the AP of ``runs`` minus that of ``baseline`` (two encoders' entries of a
    :func:`compare_on_frames` result, trained on the same seeds)."""
    return [ap[metric][cls] - base[metric][cls] for ap, base in zip(runs['ap'], baseline['ap'])]


def gain_text(differences):
    """``'+1.0 ± 2.0 (better in 2 of 3 seeds)'``: mean ± std of paired differences and how many
    are positive, out of the seeds where the class has ground truth."""
    m, s = mean_and_spread(differences)
    if math.isnan(m):
        return 'n/a'
    scored = [d for d in differences if not math.isnan(d)]
    return f'{m:+.1f} ± {s:.1f} (better in {sum(d > 0 for d in scored)} of {len(scored)} seeds)'


def plot_finetune_losses(results, path):
    """PNG of the fine-tuning loss per encoder: mean over seeds, band from min to max."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, runs in results.items():
        curves = np.array(runs['loss'])
        window = max(1, curves.shape[1] // 20)
        smooth = np.array([np.convolve(c, np.ones(window) / window, 'valid') for c in curves])
        x = np.arange(smooth.shape[1]) + window
        ax.plot(x, smooth.mean(0), label=f'{name} (mean of {len(curves)} seeds)')
        ax.fill_between(x, smooth.min(0), smooth.max(0), alpha=0.2)
    ax.set(xlabel='fine-tuning iteration', ylabel='detection loss (focal + 0.25 L1)',
           yscale='log', title='CenterPoint-style head on VoxelBackBone8x')
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
