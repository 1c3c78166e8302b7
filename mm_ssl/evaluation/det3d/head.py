"""CenterPoint-style BEV detection head (Yin et al. 2021, "Center-based 3D Object Detection and
Tracking"), built on CenterNet's keypoint heatmaps (Zhou et al. 2019, "Objects as Points").

Boxes are LiDAR-frame ``(x, y, z, l, w, h, yaw)``; the BEV map's last axis is x and the one before
it is y, as in the ``(z, y, x)`` sparse grids of :mod:`mm_ssl.models.encoders.voxel_backbone`.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from mm_ssl.registry import MODELS

# Regression channels, in the order of the per-task heads: sub-cell offset, height, log size, yaw.
REG_HEADS = (('offset', 2), ('z', 1), ('dim', 3), ('rot', 2))
EPS = 1e-4  # CenterNet clamps the sigmoid to [eps, 1 - eps] so the focal loss's logs stay finite


def to_bev(sp):
    """Dense BEV map of a sparse 3D tensor, merging height into channels (OpenPCDet's
    HeightCompression, as SECOND / CenterPoint do before their 2D trunk).

    Shape:
        sp: SparseConvTensor with spatial shape (Z, Y, X) and C channels, batch B.
        returns (B, C * Z, Y, X); channel ``c * Z + z`` holds channel c of height slice z.
    """
    dense = sp.dense()  # (B, C, Z, Y, X)
    b, c, z, y, x = dense.shape
    return dense.reshape(b, c * z, y, x)


def gaussian_radius(height, width, min_overlap=0.1):
    """CenterNet / CenterPoint Gaussian radius: the smallest of the three corner-shift radii that
    keep IoU >= ``min_overlap`` with the box (the ``(b + sqrt(disc)) / 2`` form CenterPoint
    inherits from CornerNet's code, kept so radii match its released heatmaps).

    Shape: scalars (box size in BEV cells) -> float.
    """
    h, w, m = float(height), float(width), min_overlap
    b1, c1 = h + w, w * h * (1 - m) / (1 + m)
    r1 = (b1 + math.sqrt(b1 ** 2 - 4 * c1)) / 2
    b2, c2 = 2 * (h + w), (1 - m) * w * h
    r2 = (b2 + math.sqrt(b2 ** 2 - 16 * c2)) / 2
    b3, c3 = -2 * m * (h + w), (m - 1) * w * h
    r3 = (b3 + math.sqrt(b3 ** 2 - 16 * m * c3)) / 2
    return min(r1, r2, r3)


def draw_gaussian(heatmap, cx, cy, radius):
    """Max-splat a Gaussian of std ``(2 radius + 1) / 6`` centred on integer cell ``(cx, cy)``
    (CenterNet's ``draw_umich_gaussian``); max, not sum, so close objects keep peaks of 1.

    Shape: heatmap (H, W), modified in place.
    """
    h, w = heatmap.shape
    sigma = (2 * radius + 1) / 6
    r = torch.arange(-radius, radius + 1, device=heatmap.device, dtype=heatmap.dtype)
    g = torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma ** 2))
    g[g < torch.finfo(g.dtype).eps * g.max()] = 0
    l, rt = min(cx, radius), min(w - cx, radius + 1)
    t, bt = min(cy, radius), min(h - cy, radius + 1)
    patch = heatmap[cy - t:cy + bt, cx - l:cx + rt]
    patch.copy_(torch.maximum(patch, g[radius - t:radius + bt, radius - l:radius + rt]))
    return heatmap


def focal_loss(logits, target):
    """CenterNet's penalty-reduced pixel-wise focal loss (alpha=2, beta=4), summed and normalised
    by the number of objects (peaks equal to 1), as in CenterPoint's ``FastFocalLoss``.

    Shape: logits, target (B, C, H, W) -> scalar.
    """
    p = logits.sigmoid().clamp(EPS, 1 - EPS)
    pos = target.eq(1).float()
    pos_loss = (torch.log(p) * (1 - p) ** 2 * pos).sum()
    neg_loss = (torch.log(1 - p) * p ** 2 * (1 - target) ** 4 * (1 - pos)).sum()
    return -(pos_loss + neg_loss) / pos.sum().clamp(min=1)


def _conv_bn_relu(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


@MODELS.register_module()
class CenterHead(nn.Module):
    """Single-stage CenterPoint head (Yin et al. 2021): a small shared 2D conv trunk, then per-task
    heads for a class heatmap and, at object centres, the sub-cell offset, z, log(l, w, h) and
    (sin yaw, cos yaw). Peaks of the heatmap are the detections; no rotated NMS.

    Args:
        in_channels: channels of the BEV map (C * Z of :func:`to_bev`; 256 for VoxelBackBone8x).
        num_classes: heatmap channels; labels are 0..num_classes-1.
        voxel_size, point_range: the voxel grid (x, y, z) / (x0, y0, z0, x1, y1, z1) of the encoder.
        out_stride: BEV cell = ``out_stride`` voxels in x and y.
        bbox_weight: weight of the L1 regression loss (CenterPoint uses 0.25).

    Shape:
        input: (B, in_channels, H, W) or a SparseConvTensor (densified by :func:`to_bev`).
        output: dict heatmap (B, num_classes, H, W) logits, offset (B, 2, H, W), z (B, 1, H, W),
        dim (B, 3, H, W), rot (B, 2, H, W).
    """

    def __init__(self, in_channels, num_classes, voxel_size, point_range, out_stride=8,
                 hidden=64, min_overlap=0.1, min_radius=2, bbox_weight=0.25):
        super().__init__()
        self.num_classes = num_classes
        self.cell = (voxel_size[0] * out_stride, voxel_size[1] * out_stride)
        self.origin = (point_range[0], point_range[1])
        self.min_overlap, self.min_radius, self.bbox_weight = min_overlap, min_radius, bbox_weight
        self.trunk = nn.Sequential(_conv_bn_relu(in_channels, hidden),
                                   _conv_bn_relu(hidden, hidden))
        self.heads = nn.ModuleDict({
            name: nn.Sequential(_conv_bn_relu(hidden, hidden), nn.Conv2d(hidden, ch, 1))
            for name, ch in (('heatmap', num_classes),) + REG_HEADS})
        # CenterNet's prior: sigmoid(-2.19) ~ 0.1, so the many background cells do not swamp the
        # focal loss in the first steps.
        nn.init.constant_(self.heads['heatmap'][-1].bias, -2.19)

    def forward(self, x):
        if not torch.is_tensor(x):
            x = to_bev(x)
        x = self.trunk(x)
        return {name: head(x) for name, head in self.heads.items()}

    def _cells(self, xy):
        """Continuous BEV cell coordinates of LiDAR (x, y). Shape: (N, 2) -> (N, 2)."""
        return torch.stack([(xy[:, 0] - self.origin[0]) / self.cell[0],
                            (xy[:, 1] - self.origin[1]) / self.cell[1]], 1)

    @torch.no_grad()
    def targets(self, gt_boxes_list, gt_labels_list, bev_hw):
        """CenterNet heatmaps and centre-cell regression targets. Boxes whose centre falls off the
        map are dropped (mask 0); if two share a cell the later one's regression wins.

        Shape:
            gt_boxes_list: B tensors (N_b, 7); gt_labels_list: B int tensors (N_b,); bev_hw (H, W).
            returns dict heatmap (B, C, H, W); reg (B, M, 8) = (dx, dy, z, log l, log w, log h,
            sin yaw, cos yaw); ind (B, M) int64 flat cell ``y * W + x``; mask (B, M) bool;
            M = max(1, max N_b).
        """
        h, w = bev_hw
        bsz = len(gt_boxes_list)
        device = gt_boxes_list[0].device if bsz else torch.device('cpu')
        m = max([1] + [len(b) for b in gt_boxes_list])
        heatmap = torch.zeros(bsz, self.num_classes, h, w, device=device)
        reg = torch.zeros(bsz, m, 8, device=device)
        ind = torch.zeros(bsz, m, dtype=torch.long, device=device)
        mask = torch.zeros(bsz, m, dtype=torch.bool, device=device)
        for b, (boxes, labels) in enumerate(zip(gt_boxes_list, gt_labels_list)):
            if len(boxes) == 0:
                continue
            boxes = boxes.float()
            c = self._cells(boxes[:, :2])
            cell = c.floor().long()
            for k in range(len(boxes)):
                cx, cy = int(cell[k, 0]), int(cell[k, 1])
                if not (0 <= cx < w and 0 <= cy < h):
                    continue
                # Radius from the box's BEV footprint in cells (l / cell_x, w / cell_y, as
                # CenterPoint; the formula is symmetric in the two sides).
                r = gaussian_radius(boxes[k, 3] / self.cell[0], boxes[k, 4] / self.cell[1],
                                    self.min_overlap)
                draw_gaussian(heatmap[b, int(labels[k])], cx, cy, max(self.min_radius, int(r)))
                ind[b, k], mask[b, k] = cy * w + cx, True
                reg[b, k] = torch.cat([c[k] - cell[k], boxes[k, 2:3], boxes[k, 3:6].log(),
                                       boxes[k, 6:7].sin(), boxes[k, 6:7].cos()])
        return dict(heatmap=heatmap, reg=reg, ind=ind, mask=mask)

    @staticmethod
    def _gather_reg(preds, ind):
        """Regression maps read at flat cells. Shape: ind (B, M) -> (B, M, 8)."""
        reg = torch.cat([preds[name] for name, _ in REG_HEADS], 1).flatten(2)  # (B, 8, H*W)
        return reg.gather(2, ind[:, None].expand(-1, reg.shape[1], -1)).transpose(1, 2)

    def loss(self, preds, targets):
        """Focal loss on the heatmap and L1 on the regression at object centres, each normalised by
        the number of objects (CenterPoint's ``FastFocalLoss`` / ``RegLoss``).

        Shape: preds from :meth:`forward`, targets from :meth:`targets` -> dict of scalars.
        """
        loss_hm = focal_loss(preds['heatmap'], targets['heatmap'])
        mask = targets['mask'].float()[..., None]
        pred = self._gather_reg(preds, targets['ind'])
        l1 = (F.l1_loss(pred, targets['reg'], reduction='none') * mask).sum()
        loss_bbox = l1 / mask.sum().clamp(min=1)
        return dict(loss_heatmap=loss_hm, loss_bbox=self.bbox_weight * loss_bbox)

    @torch.no_grad()
    def decode(self, preds, score_threshold=0.1, max_det=100):
        """Detections as heatmap peaks: a cell is kept if it is the max of its 3x3 neighbourhood
        (CenterNet's max-pool NMS) and its score passes ``score_threshold``; top ``max_det``.

        Shape: preds from :meth:`forward` -> B tuples of boxes (K, 7) (x, y, z, l, w, h, yaw),
        scores (K,), labels (K,) int64, by decreasing score.
        """
        heat = preds['heatmap'].sigmoid()
        bsz, ncls, h, w = heat.shape
        peaks = heat * (F.max_pool2d(heat, 3, stride=1, padding=1) == heat)
        scores, idx = peaks.flatten(1).topk(min(max_det, ncls * h * w), dim=1)
        labels, ind = idx // (h * w), idx % (h * w)
        reg = self._gather_reg(preds, ind)  # (B, K, 8)
        cx = (ind % w).float() + reg[..., 0]
        cy = (ind // w).float() + reg[..., 1]
        boxes = torch.stack([cx * self.cell[0] + self.origin[0], cy * self.cell[1] + self.origin[1],
                             reg[..., 2], *reg[..., 3:6].exp().unbind(-1),
                             torch.atan2(reg[..., 6], reg[..., 7])], -1)
        out = []
        for b in range(bsz):
            keep = scores[b] > score_threshold
            out.append((boxes[b][keep], scores[b][keep], labels[b][keep]))
        return out
