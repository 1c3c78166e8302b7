"""KITTI-style 3D/BEV detection AP (Geiger et al., CVPR 2012) with R40 interpolation
(Simonelli et al., "Disentangling Monocular 3D Object Detection", ICCV 2019).

Boxes are LiDAR-frame ``(x, y, z, l, w, h, yaw)``: ``z`` is the gravity centre, ``l`` lies along
the heading ``yaw`` (rotation about +z), ``w`` across it.

Simplifications vs. the official devkit (``cpp/evaluate_object.cpp`` / the numba port in
OpenPCDet & mmdet3d) — numbers are close to, but not bit-identical with, the devkit:

* Matching is prediction-centric greedy (predictions by descending score, each to its best-IoU
  unmatched GT); the devkit is GT-centric and then rebuilds the PR curve at 41 score thresholds
  sampled from the TP scores. Both are greedy-by-score, so results coincide except for ties and
  corner cases with several overlapping GTs.
* A match needs ``IoU >= threshold`` (the devkit uses strict ``>``).
* No Easy/Moderate/Hard filtering (min box height in pixels, occlusion, truncation), no
  neighbouring-class ignores (Van for Car, Person_sitting for Pedestrian) and no DontCare-region
  handling: pass any of those as ``gt_ignore``. An ignored GT absorbs at most one prediction
  (one-to-one, as in the devkit); valid GTs are preferred over ignored ones when both match.
* No image-plane 2D-box / AOS metrics; IoU uses exact BEV rotated rectangles (the devkit's BEV
  is the same; its 3D IoU is also BEV-area × height overlap).
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Union

import numpy as np

KITTI_IOU_THRESHOLDS = {'Car': 0.7, 'Pedestrian': 0.5, 'Cyclist': 0.5}


def _bev_corners(boxes: np.ndarray) -> np.ndarray:
    """Counter-clockwise BEV corners. Shape: (N, 7) -> (N, 4, 2)."""
    x, y, l, w, yaw = boxes[:, 0], boxes[:, 1], boxes[:, 3], boxes[:, 4], boxes[:, 6]
    lx = l[:, None] * np.array([0.5, 0.5, -0.5, -0.5])
    ly = w[:, None] * np.array([-0.5, 0.5, 0.5, -0.5])    # CCW in the local frame
    c, s = np.cos(yaw)[:, None], np.sin(yaw)[:, None]     # rotation keeps the orientation CCW
    return np.stack([x[:, None] + c * lx - s * ly, y[:, None] + s * lx + c * ly], axis=-1)


def _next_vertex(poly: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Cyclic successor of every slot of padded polygons with ``n`` valid vertices."""
    idx = (np.arange(poly.shape[1])[None] + 1) % np.maximum(n, 1)[:, None]
    return np.take_along_axis(poly, idx[..., None], axis=1)


def _convex_intersection_area(subj: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Area of the intersection of convex CCW quads, batched Sutherland–Hodgman clipping.

    Polygons are kept padded ((P, K, 2) plus a vertex count) so every pair is clipped by the same
    array ops; after each half-plane valid vertices are compacted to the front.

    Shape:
        - subj, clip: (P, 4, 2) counter-clockwise corners.
        - output: (P,)
    """
    P = len(subj)
    poly, n = subj.copy(), np.full(P, 4)
    for e in range(4):
        a, d = clip[:, e, None], clip[:, (e + 1) % 4, None] - clip[:, e, None]   # (P, 1, 2)
        nxt = _next_vertex(poly, n)
        # cross(d, p - a) >= 0: left of the CCW clip edge = inside
        dc, dn = (d[..., 0] * (q[..., 1] - a[..., 1]) - d[..., 1] * (q[..., 0] - a[..., 0])
                  for q in (poly, nxt))
        valid = np.arange(poly.shape[1])[None] < n[:, None]
        inc, inn = dc >= 0, dn >= 0
        t = dc / np.where(inc != inn, dc - dn, 1.0)        # only used where the edge crosses
        cross = poly + t[..., None] * (nxt - poly)
        # Each input vertex emits itself (if inside) then the crossing point of its outgoing edge.
        out = np.stack([poly, cross], 2).reshape(P, -1, 2)
        keep = np.stack([valid & inc, valid & (inc != inn)], 2).reshape(P, -1)
        order = np.argsort(~keep, axis=1, kind='stable')
        n = keep.sum(1)
        poly = np.take_along_axis(out, order[..., None], 1)[:, :max(int(n.max(initial=0)), 1)]
    nxt = _next_vertex(poly, n)
    valid = np.arange(poly.shape[1])[None] < n[:, None]
    shoelace = poly[..., 0] * nxt[..., 1] - poly[..., 1] * nxt[..., 0]
    return 0.5 * np.abs(np.where(valid & (n[:, None] >= 3), shoelace, 0.0).sum(1))


def bev_intersection(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """Exact BEV intersection area of rotated rectangles.

    Shape:
        - boxes_a: (N, 7); boxes_b: (M, 7) as (x, y, z, l, w, h, yaw).
        - output: (N, M)
    """
    a = np.asarray(boxes_a, np.float64).reshape(-1, 7)
    b = np.asarray(boxes_b, np.float64).reshape(-1, 7)
    inter = np.zeros((len(a), len(b)))
    if not len(a) or not len(b):
        return inter
    # Circumscribed-circle test: only pairs that can touch are clipped (keeps P small).
    ra, rb = 0.5 * np.hypot(a[:, 3], a[:, 4]), 0.5 * np.hypot(b[:, 3], b[:, 4])
    dist = np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])
    i, j = np.nonzero(dist <= ra[:, None] + rb[None] + 1e-9)
    if len(i):
        ca, cb = _bev_corners(a), _bev_corners(b)
        inter[i, j] = _convex_intersection_area(ca[i], cb[j])
    return inter


def bev_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """IoU of rotated bird's-eye-view rectangles (KITTI BEV metric).

    Shape:
        - boxes_a: (N, 7); boxes_b: (M, 7) as (x, y, z, l, w, h, yaw).
        - output: (N, M) in [0, 1].
    """
    a = np.asarray(boxes_a, np.float64).reshape(-1, 7)
    b = np.asarray(boxes_b, np.float64).reshape(-1, 7)
    inter = bev_intersection(a, b)
    union = (a[:, 3] * a[:, 4])[:, None] + (b[:, 3] * b[:, 4])[None] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def iou_3d(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """3D IoU of yaw-rotated boxes: BEV intersection area × z overlap / union volume.

    Shape:
        - boxes_a: (N, 7); boxes_b: (M, 7) with z the gravity centre.
        - output: (N, M) in [0, 1].
    """
    a = np.asarray(boxes_a, np.float64).reshape(-1, 7)
    b = np.asarray(boxes_b, np.float64).reshape(-1, 7)
    top = np.minimum((a[:, 2] + a[:, 5] / 2)[:, None], (b[:, 2] + b[:, 5] / 2)[None])
    bot = np.maximum((a[:, 2] - a[:, 5] / 2)[:, None], (b[:, 2] - b[:, 5] / 2)[None])
    inter = bev_intersection(a, b) * np.clip(top - bot, 0.0, None)
    union = a[:, 3:6].prod(1)[:, None] + b[:, 3:6].prod(1)[None] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def _class_mask(labels, ci: int, name: str) -> np.ndarray:
    """Labels may be class-name strings or integer indices into ``class_names``."""
    labels = np.asarray(labels).reshape(-1)
    return labels == name if labels.dtype.kind in 'USO' else labels == ci


def _match_frame(iou: np.ndarray, scores: np.ndarray, ignore: np.ndarray, thr: float):
    """Greedy matching in one frame. Returns per-prediction status: 1 TP, 0 FP, -1 ignored.

    Shape: iou (P, G); scores (P,); ignore (G,) bool -> (P,) int.
    """
    status = np.zeros(len(scores), np.int64)
    taken = np.zeros(iou.shape[1], bool)
    for p in np.argsort(-scores, kind='stable'):
        for want_ignored, code in ((False, 1), (True, -1)):   # valid GTs first, like the devkit
            cand = np.where(~taken & (ignore == want_ignored) & (iou[p] >= thr), iou[p], -1.0)
            if len(cand) and cand.max() >= 0:
                taken[cand.argmax()] = True
                status[p] = code
                break
    return status


def r40_ap(tp: np.ndarray, num_gt: int, num_points: int = 40) -> float:
    """Interpolated AP (%) from TP flags of score-sorted predictions (Simonelli et al. 2019).

    Precision at recall r is the max precision over operating points with recall >= r, averaged
    over r = 1/N .. N/N (R40 drops the r = 0 point of the old 11-point R11 metric).

    Shape: tp (P,) bool, sorted by descending score -> scalar.
    """
    if num_gt == 0:
        return float('nan')
    if not len(tp):
        return 0.0
    ctp = np.cumsum(tp)
    prec = ctp / np.arange(1, len(tp) + 1)
    # max precision over the suffix = over every point with recall >= that point's recall
    best = np.maximum.accumulate(prec[::-1])[::-1]
    ks = np.arange(1, num_points + 1)
    # first point with recall >= k/N, in integers (tp*N >= k*G) to avoid float ties
    first = np.searchsorted(ctp * num_points, ks * num_gt, side='left')
    interp = np.where(first < len(tp), best[np.minimum(first, len(tp) - 1)], 0.0)
    return float(interp.mean() * 100)


def average_precision(gt_boxes: Sequence[np.ndarray], gt_labels: Sequence[np.ndarray],
                      pred_boxes: Sequence[np.ndarray], pred_labels: Sequence[np.ndarray],
                      pred_scores: Sequence[np.ndarray], class_names: Sequence[str],
                      iou_thresholds: Optional[Union[Dict[str, float], float]] = None,
                      metric: str = 'bev', num_points: int = 40,
                      gt_ignore: Optional[Sequence[np.ndarray]] = None) -> Dict[str, float]:
    """KITTI-protocol AP (%) per class over a list of frames, R40-interpolated.

    Per class, predictions are taken in descending score order over the whole set; each one is
    matched to the best-IoU unmatched GT of its frame with IoU >= the class threshold (TP),
    else it is a FP. Predictions matched to an ignored GT (``gt_ignore``) are neither TP nor FP
    and ignored GTs do not count towards recall. See the module docstring for what differs from
    the official devkit.

    Shape:
        - gt_boxes[f]: (G_f, 7); gt_labels[f]: (G_f,) names or indices into class_names.
        - pred_boxes[f]: (P_f, 7); pred_labels[f]: (P_f,); pred_scores[f]: (P_f,).
        - gt_ignore[f]: (G_f,) bool, optional.
        - output: {class: AP, 'mAP': mean over classes with >= 1 non-ignored GT}; classes without
          any valid GT get NaN.

    Example:
        >>> ap = average_precision(gts, gl, preds, pl, ps, ['Car', 'Pedestrian', 'Cyclist'])
        >>> ap['Car'], ap['mAP']
    """
    if metric not in ('bev', '3d'):
        raise ValueError(f"metric must be 'bev' or '3d', got {metric!r}")
    iou_fn = bev_iou if metric == 'bev' else iou_3d
    thresholds = KITTI_IOU_THRESHOLDS if iou_thresholds is None else iou_thresholds
    result = {}
    for ci, name in enumerate(class_names):
        thr = thresholds if np.isscalar(thresholds) else thresholds[name]
        scores, status, num_gt = [], [], 0
        for f in range(len(gt_boxes)):
            gm = _class_mask(gt_labels[f], ci, name)
            pm = _class_mask(pred_labels[f], ci, name)
            ign = (np.zeros(len(gm), bool) if gt_ignore is None
                   else np.asarray(gt_ignore[f], bool).reshape(-1))[gm]
            num_gt += int((~ign).sum())
            s = np.asarray(pred_scores[f], np.float64).reshape(-1)[pm]
            if not len(s):
                continue
            g = np.asarray(gt_boxes[f], np.float64).reshape(-1, 7)[gm]
            p = np.asarray(pred_boxes[f], np.float64).reshape(-1, 7)[pm]
            # Frames are independent, so per-frame greedy in score order equals global greedy.
            status.append(_match_frame(iou_fn(p, g), s, ign, thr))
            scores.append(s)
        scores = np.concatenate(scores) if scores else np.zeros(0)
        status = np.concatenate(status) if status else np.zeros(0, np.int64)
        keep = status >= 0                                  # drop ignored predictions entirely
        order = np.argsort(-scores[keep], kind='stable')
        result[name] = r40_ap(status[keep][order] == 1, num_gt, num_points)
    present = [v for v in result.values() if not np.isnan(v)]
    result['mAP'] = float(np.mean(present)) if present else float('nan')
    return result
