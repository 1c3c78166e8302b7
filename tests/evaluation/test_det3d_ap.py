"""Detection AP against independent references: rasterised IoU, hand-computed cases and a
plain-loop KITTI-greedy + R40 reference."""
import math
from fractions import Fraction

import numpy as np
import pytest

from mm_ssl.evaluation.det3d.ap import average_precision, bev_iou, iou_3d


def box(x, y, length, w, yaw=0.0, z=0.0, h=1.5):
    return [x, y, z, length, w, h, yaw]


def raster_bev_iou(a, b, n=700):
    """Grid estimate: count cell centres inside each rectangle (tested in its own frame)."""
    r = 0.5 * max(math.hypot(a[3], a[4]), math.hypot(b[3], b[4]))
    lo_x, hi_x = min(a[0], b[0]) - r, max(a[0], b[0]) + r
    lo_y, hi_y = min(a[1], b[1]) - r, max(a[1], b[1]) + r
    xs = lo_x + (np.arange(n) + 0.5) * (hi_x - lo_x) / n
    ys = lo_y + (np.arange(n) + 0.5) * (hi_y - lo_y) / n
    X, Y = np.meshgrid(xs, ys)

    def inside(bx):
        dx, dy = X - bx[0], Y - bx[1]
        c, s = math.cos(bx[6]), math.sin(bx[6])
        return (np.abs(c * dx + s * dy) <= bx[3] / 2) & (np.abs(-s * dx + c * dy) <= bx[4] / 2)

    ia, ib = inside(a), inside(b)
    return (ia & ib).sum() / max((ia | ib).sum(), 1)


def test_bev_iou_matches_raster_for_random_rotated_boxes():
    rng = np.random.default_rng(0)
    a = np.column_stack([rng.uniform(-1, 1, 12), rng.uniform(-1, 1, 12), rng.uniform(-1, 1, 12),
                         rng.uniform(0.5, 4, 12), rng.uniform(0.5, 2, 12), np.ones(12),
                         rng.uniform(-np.pi, np.pi, 12)])
    b = a[rng.permutation(12)] + np.array([0.3, -0.2, 0, 0.2, 0.1, 0, 0.7])
    ours = bev_iou(a, b)
    assert ours.shape == (12, 12)
    hits = 0
    for i in range(12):
        for j in range(0, 12, 2):
            ref = raster_bev_iou(a[i], b[j])
            assert ours[i, j] == pytest.approx(ref, abs=1e-2)
            hits += ref > 0.05
    assert hits >= 10                                   # the sample really tests overlaps
    np.testing.assert_allclose(bev_iou(b, a), ours.T, atol=1e-12)   # symmetric


def test_bev_iou_exact_cases():
    sq = np.array([box(0, 0, 2, 2)])
    # offset (1, 1): overlap 1x1 = 1, union 4 + 4 - 1 = 7
    assert bev_iou(sq, [box(1, 1, 2, 2)])[0, 0] == pytest.approx(1 / 7)
    # 4x2 vs 2x2 sharing the left half: overlap 4 → IoU 4 / 8
    assert bev_iou([box(0, 0, 4, 2)], [box(-1, 0, 2, 2)])[0, 0] == pytest.approx(0.5)
    # rotating by 90° swaps l/w: a 4x2 box vs the same box turned → overlap 2x2
    assert bev_iou([box(0, 0, 4, 2)], [box(0, 0, 4, 2, np.pi / 2)])[0, 0] == pytest.approx(4 / 12)
    # square vs its 45° copy centred at (1, 0): overlap 1 + 2(√2 − 1) by integration
    inter = 1 + 2 * (math.sqrt(2) - 1)
    assert bev_iou(sq, [box(1, 0, 2, 2, np.pi / 4)])[0, 0] == pytest.approx(inter / (8 - inter))
    r = np.array([box(3, -1, 4.2, 1.8, 0.83)])
    assert bev_iou(r, r)[0, 0] == pytest.approx(1.0)
    assert bev_iou(r, [box(3, -1, 4.2, 1.8, 0.83 + np.pi)])[0, 0] == pytest.approx(1.0)
    assert bev_iou(sq, [box(2.5, 0, 2, 2, 0.3)])[0, 0] == 0.0      # disjoint
    assert bev_iou(sq, np.zeros((0, 7))).shape == (1, 0)


def test_iou_3d_hand_computed():
    a = [box(0, 0, 2, 2, z=0.0, h=2)]
    # BEV overlap 1, z overlap [0, 1] = 1 → 1; union 8 + 8 − 1
    assert iou_3d(a, [box(1, 1, 2, 2, z=1.0, h=2)])[0, 0] == pytest.approx(1 / 15)
    # same footprint, heights 2 vs 4 sharing the bottom → 8 / 16
    assert iou_3d(a, [box(0, 0, 2, 2, z=1.0, h=4)])[0, 0] == pytest.approx(0.5)
    assert iou_3d(a, [box(0, 0, 2, 2, z=2.5, h=2)])[0, 0] == 0.0   # stacked, no z overlap
    assert iou_3d(a, a)[0, 0] == pytest.approx(1.0)


# ---------------------------------------------------------------- AP reference (plain loops)
def aa_iou(p, g, metric):
    """Axis-aligned IoU written out (yaw = 0 boxes only)."""
    ox = max(0.0, min(p[0] + p[3] / 2, g[0] + g[3] / 2) - max(p[0] - p[3] / 2, g[0] - g[3] / 2))
    oy = max(0.0, min(p[1] + p[4] / 2, g[1] + g[4] / 2) - max(p[1] - p[4] / 2, g[1] - g[4] / 2))
    if metric == 'bev':
        inter, va, vb = ox * oy, p[3] * p[4], g[3] * g[4]
    else:
        oz = max(0.0, min(p[2] + p[5] / 2, g[2] + g[5] / 2) - max(p[2] - p[5] / 2, g[2] - g[5] / 2))
        inter, va, vb = ox * oy * oz, p[3] * p[4] * p[5], g[3] * g[4] * g[5]
    return inter / (va + vb - inter)


def reference_ap(gts, gl, preds, pl, ps, name, thr, metric, ignore=None):
    dets = [(ps[f][k], f, k) for f in range(len(preds)) for k in range(len(preds[f]))
            if pl[f][k] == name]
    dets.sort(key=lambda d: -d[0])
    taken = {(f, k): False for f in range(len(gts)) for k in range(len(gts[f]))}

    def ign(f, k):
        return ignore is not None and bool(ignore[f][k])

    num_gt = sum(1 for f in range(len(gts)) for k in range(len(gts[f]))
                 if gl[f][k] == name and not ign(f, k))
    flags = []
    for _, f, k in dets:
        result = 'fp'
        for want_ign in (False, True):
            best, best_g = -1.0, None
            for g in range(len(gts[f])):
                if gl[f][g] != name or taken[f, g] or ign(f, g) != want_ign:
                    continue
                iou = aa_iou(preds[f][k], gts[f][g], metric)
                if iou >= thr and iou > best:
                    best, best_g = iou, g
            if best_g is not None:
                taken[f, best_g] = True
                result = 'ign' if want_ign else 'tp'
                break
        if result != 'ign':
            flags.append(result == 'tp')
    if num_gt == 0:
        return float('nan')
    points, tp = [], 0
    for i, is_tp in enumerate(flags):
        tp += is_tp
        points.append((Fraction(tp, num_gt), tp / (i + 1)))
    total = 0.0
    for k in range(1, 41):
        total += max([p for r, p in points if r >= Fraction(k, 40)], default=0.0)
    return total / 40 * 100


def random_frames(rng, n_frames=12):
    names = np.array(['Car', 'Pedestrian', 'Cyclist'])
    size = {'Car': (4.0, 1.8, 1.5), 'Pedestrian': (0.8, 0.8, 1.7), 'Cyclist': (1.8, 0.6, 1.7)}
    gts, gl, preds, pl, ps, ign = [], [], [], [], [], []
    for _ in range(n_frames):
        labels = names[rng.integers(0, 3, rng.integers(0, 7))]
        g = np.array([box(*rng.uniform(-30, 30, 2), *size[c][:2], z=rng.uniform(-1, 1),
                          h=size[c][2]) for c in labels]).reshape(-1, 7)
        p, lab = [], []
        for gb, c in zip(g, labels):             # 0-2 jittered detections per GT
            for _ in range(rng.integers(0, 3)):
                p.append(gb + np.r_[rng.normal(0, 0.15, 3), rng.normal(0, 0.1, 3), 0])
                lab.append(c if rng.random() < 0.9 else names[rng.integers(0, 3)])
        for _ in range(rng.integers(0, 3)):     # pure false positives
            c = names[rng.integers(0, 3)]
            p.append(box(*rng.uniform(-30, 30, 2), *size[c][:2], h=size[c][2]))
            lab.append(c)
        gts.append(g), gl.append(labels)
        preds.append(np.array(p).reshape(-1, 7)), pl.append(np.array(lab, dtype=str))
        ps.append(rng.random(len(p))), ign.append(rng.random(len(labels)) < 0.2)
    return gts, gl, preds, pl, ps, ign


@pytest.mark.parametrize('metric', ['bev', '3d'])
def test_ap_matches_bruteforce_reference(metric):
    rng = np.random.default_rng(1)
    classes = ['Car', 'Pedestrian', 'Cyclist']
    thr = {'Car': 0.7, 'Pedestrian': 0.5, 'Cyclist': 0.5}
    for trial in range(3):
        gts, gl, preds, pl, ps, ign = random_frames(rng)
        for mask in (None, ign):
            ours = average_precision(gts, gl, preds, pl, ps, classes, metric=metric,
                                     gt_ignore=mask)
            refs = [reference_ap(gts, gl, preds, pl, ps, c, thr[c], metric, mask)
                    for c in classes]
            for c, ref in zip(classes, refs):
                assert ours[c] == pytest.approx(ref, abs=1e-9, nan_ok=True), (trial, c)
            assert ours['mAP'] == pytest.approx(np.nanmean(refs), abs=1e-9)
            assert 0 < ours['mAP'] < 100                 # a non-trivial mix of TP/FP/misses


def test_ap_perfect_empty_and_integer_labels():
    g = [np.array([box(0, 0, 4, 1.8), box(10, 0, 0.8, 0.8)]), np.array([box(5, 5, 4, 1.8)])]
    lab = [np.array([0, 1]), np.array([0])]
    scores = [np.array([0.9, 0.8]), np.array([0.7])]
    ap = average_precision(g, lab, g, lab, scores, ['Car', 'Pedestrian', 'Cyclist'])
    assert ap['Car'] == pytest.approx(100) and ap['Pedestrian'] == pytest.approx(100)
    assert math.isnan(ap['Cyclist']) and ap['mAP'] == pytest.approx(100)   # no Cyclist GT
    empty = [np.zeros((0, 7))] * 2
    ap = average_precision(g, lab, empty, [np.zeros(0, int)] * 2, [np.zeros(0)] * 2,
                           ['Car', 'Pedestrian'], metric='3d')
    assert ap == {'Car': 0.0, 'Pedestrian': 0.0, 'mAP': 0.0}


def test_ap_single_false_positive_hand_computed():
    gt = [np.array([box(0, 0, 4, 1.8), box(20, 0, 4, 1.8)])]
    fp = box(-20, 0, 4, 1.8)

    def run(p, s):
        return average_precision(gt, [np.array(['Car'] * 2)], [np.array(p)],
                                 [np.array(['Car'] * len(p))], [np.array(s)], ['Car'])

    # TP, TP: perfect
    assert run(gt[0], [0.9, 0.8])['Car'] == pytest.approx(100)
    # FP(0.95), TP, TP → PR points (r=0, p=0), (½, ½), (1, ⅔): every recall level gets ⅔
    assert run([fp, *gt[0]], [0.95, 0.9, 0.8])['Car'] == pytest.approx(200 / 3)
    # TP, FP, TP → (½, 1), (½, ½), (1, ⅔): r ≤ 20/40 → 1, r > ½ → ⅔; mean = (20 + 40/3)/40
    assert run([gt[0][0], fp, gt[0][1]], [0.9, 0.85, 0.8])['Car'] == pytest.approx(250 / 3)
    # duplicate detection of a matched GT is a FP: TP, dup(FP) → only recall ½ reached, p = 1
    assert run([gt[0][0], gt[0][0]], [0.9, 0.8])['Car'] == pytest.approx(50)


def test_ap_ignore_mask():
    gt = [np.array([box(0, 0, 4, 1.8), box(20, 0, 4, 1.8)])]
    labels = [np.array(['Car', 'Car'])]
    pred, score = [np.array([gt[0][1], gt[0][0]])], [np.array([0.9, 0.8])]
    pl = [np.array(['Car', 'Car'])]
    # GT 1 ignored: its (top-scoring) detection is neither TP nor FP, recall counts GT 0 only
    ignore = [np.array([False, True])]
    assert average_precision(gt, labels, pred, pl, score, ['Car'], gt_ignore=ignore)['Car'] == \
        pytest.approx(100)
    # same GT ignored but undetected: no penalty either
    assert average_precision(gt, labels, [pred[0][1:]], [pl[0][1:]], [score[0][1:]], ['Car'],
                             gt_ignore=ignore)['Car'] == pytest.approx(100)
    # ignored GT absorbs only one prediction (one-to-one as in the devkit): a duplicate on it
    # becomes a FP ranked first → every recall level gets precision ½
    dup = [np.array([gt[0][1], gt[0][1], gt[0][0]])]
    ap = average_precision(gt, labels, dup, [np.array(['Car'] * 3)], [np.array([0.95, 0.9, 0.8])],
                           ['Car'], gt_ignore=ignore)['Car']
    assert ap == pytest.approx(50)
    # all GT ignored → class absent (NaN), excluded from mAP
    ap = average_precision(gt, labels, pred, pl, score, ['Car'], gt_ignore=[np.array([1, 1])])
    assert math.isnan(ap['Car']) and math.isnan(ap['mAP'])
