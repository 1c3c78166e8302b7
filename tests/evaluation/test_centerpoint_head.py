"""CenterPoint head (Yin et al. 2021): targets/decode round trip, CenterNet focal loss, Gaussian
radius, BEV densification and a tiny overfit, each against an independent reference."""
import math

import numpy as np
import pytest
import spconv.pytorch as spconv
import torch

from mm_ssl.evaluation.det3d.head import (REG_HEADS, CenterHead, draw_gaussian, focal_loss,
                                          gaussian_radius, to_bev)
from mm_ssl.registry import MODELS

KITTI_VOXEL = (0.05, 0.05, 0.1)
KITTI_RANGE = (0, -40, -3, 70.4, 40, 1)


def kitti_head(**kw):
    return CenterHead(256, 3, KITTI_VOXEL, KITTI_RANGE, **kw)


def gt():
    boxes = [torch.tensor([[10.13, -5.27, -0.9, 3.9, 1.6, 1.5, 0.3],
                           [30.71, 12.02, -1.2, 0.8, 0.6, 1.7, -2.5]]),
             torch.tensor([[55.55, 20.33, -0.5, 1.7, 0.5, 1.8, 3.0]])]
    labels = [torch.tensor([0, 1]), torch.tensor([2])]
    return boxes, labels


def preds_from_targets(t, ncls, hw, with_offset=True):
    """Predictions a perfect head would give: heatmap logits and regression maps set at the
    cells."""
    heat = t['heatmap'].clamp(1e-6, 1 - 1e-6)
    reg = torch.zeros(t['reg'].shape[0], 8, hw[0] * hw[1])
    for b in range(reg.shape[0]):
        for k in torch.nonzero(t['mask'][b]).flatten():
            reg[b, :, t['ind'][b, k]] = t['reg'][b, k]
    if not with_offset:
        reg[:, :2] = 0
    reg = reg.view(-1, 8, *hw).split([c for _, c in REG_HEADS], 1)
    out = {name: r for (name, _), r in zip(REG_HEADS, reg)}
    out['heatmap'] = torch.log(heat / (1 - heat))
    return out


def test_targets_decode_round_trip():
    head = kitti_head()
    boxes, labels = gt()
    hw = (200, 176)
    t = head.targets(boxes, labels, hw)
    assert t['heatmap'].shape == (2, 3, 200, 176) and t['mask'].tolist() == [[1, 1], [1, 0]]
    for with_offset in (False, True):
        dets = head.decode(preds_from_targets(t, 3, hw, with_offset), score_threshold=0.5)
        for (db, ds, dl), gb, gl in zip(dets, boxes, labels):
            assert len(db) == len(gb) and (ds > 0.99).all()
            order = torch.argsort(dl)  # match by label (unique per frame here)
            db, dl = db[order], dl[order]
            assert torch.equal(dl, gl)
            ref = gb.clone()
            if not with_offset:  # centre snapped to its cell's lower corner (0.4 m cells)
                ref[:, 0] = torch.floor(ref[:, 0] / 0.4) * 0.4
                ref[:, 1] = torch.floor((ref[:, 1] + 40) / 0.4) * 0.4 - 40
            torch.testing.assert_close(db, ref, atol=1e-4, rtol=0)


def test_focal_loss_matches_loop():
    torch.manual_seed(0)
    logits = torch.randn(2, 2, 3, 4)
    target = torch.rand(2, 2, 3, 4) * 0.9
    target[0, 1, 1, 2] = target[1, 0, 2, 3] = target[1, 1, 0, 0] = 1
    pos = neg = 0.0
    for v, g in zip(logits.flatten().tolist(), target.flatten().tolist()):
        p = min(max(1 / (1 + math.exp(-v)), 1e-4), 1 - 1e-4)
        if g == 1:
            pos += math.log(p) * (1 - p) ** 2
        else:
            neg += math.log(1 - p) * p ** 2 * (1 - g) ** 4
    ref = -(pos + neg) / 3
    assert focal_loss(logits, target).item() == pytest.approx(ref, rel=1e-5)


def centerpoint_radius(det_size, min_overlap):
    """CenterPoint's det3d ``gaussian_radius`` (numpy), transcribed."""
    height, width = det_size
    a1, b1, c1 = 1, height + width, width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + np.sqrt(b1 ** 2 - 4 * a1 * c1)) / 2
    a2, b2, c2 = 4, 2 * (height + width), (1 - min_overlap) * width * height
    r2 = (b2 + np.sqrt(b2 ** 2 - 4 * a2 * c2)) / 2
    a3, b3, c3 = (4 * min_overlap, -2 * min_overlap * (height + width),
                  (min_overlap - 1) * width * height)
    r3 = (b3 + np.sqrt(b3 ** 2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def test_gaussian_radius_and_peaks():
    # by hand: (-4 + sqrt(160)) / 2
    assert gaussian_radius(10, 10, 0.1) == pytest.approx(4.3246, abs=1e-4)
    for hw in [(3.9 / 0.4, 1.6 / 0.4), (1, 2), (25, 7)]:
        assert gaussian_radius(*hw) == pytest.approx(centerpoint_radius(hw, 0.1))
    # Gaussian of radius r: support (2r+1)^2, peak exactly 1, std (2r+1)/6, clipped at the border.
    hm = draw_gaussian(torch.zeros(20, 20), 5, 6, 3)
    assert hm[6, 5] == 1 and (hm > 0).sum() == 49
    assert hm[6, 8].item() == pytest.approx(math.exp(-9 / (2 * (7 / 6) ** 2)))
    assert draw_gaussian(torch.zeros(5, 5), 0, 4, 3).count_nonzero() == 16
    # Tiny boxes get the minimum radius 2; every centre is a peak of 1.
    head = kitti_head()
    boxes, labels = gt()
    t = head.targets(boxes, labels, (200, 176))
    assert int(t['heatmap'].eq(1).sum()) == 3
    small = t['heatmap'][0, 1]  # 0.8 x 0.6 m box: radius < 2 cells, so 5x5 support
    assert int((small > 0).sum()) == 25
    cy, cx = divmod(int(t['ind'][0, 1]), 176)
    assert small[cy, cx] == 1


def test_to_bev_matches_manual_scatter():
    torch.manual_seed(0)
    B, C, Z, Y, X = 2, 3, 2, 5, 6
    cells = torch.randperm(B * Z * Y * X)[:25]
    idx = torch.stack([cells // (Z * Y * X), cells // (Y * X) % Z, cells // X % Y, cells % X], 1)
    feats = torch.randn(25, C)
    sp = spconv.SparseConvTensor(feats, idx.int(), [Z, Y, X], B)
    ref = torch.zeros(B, C * Z, Y, X)
    for (b, z, y, x), f in zip(idx.tolist(), feats):
        for c in range(C):
            ref[b, c * Z + z, y, x] = f[c]
    assert torch.equal(to_bev(sp), ref)
    # The head densifies a sparse input itself; an empty frame gives an all-zero heatmap.
    head = CenterHead(C * Z, 2, (0.1, 0.1, 0.1), (0, 0, -3, 4.8, 4.0, 1), out_stride=1, hidden=8)
    out = head(sp)
    assert out['heatmap'].shape == (B, 2, Y, X) and out['rot'].shape == (B, 2, Y, X)
    t = head.targets([torch.zeros(0, 7)] * B, [torch.zeros(0, dtype=torch.long)] * B, (Y, X))
    assert t['heatmap'].sum() == 0 and not t['mask'].any()
    assert set(head.loss(out, t)) == {'loss_heatmap', 'loss_bbox'}


def test_overfit_two_boxes():
    torch.manual_seed(0)
    # 0.1 m voxels, stride 8: 0.8 m cells, 32 x 32 map over [0, 25.6) x [-12.8, 12.8).
    head = MODELS.build(dict(type='CenterHead', in_channels=8, num_classes=2,
                             voxel_size=(0.1, 0.1, 0.1), point_range=(0, -12.8, -3, 25.6, 12.8, 1),
                             hidden=32))
    bev = torch.randn(1, 8, 32, 32)
    boxes = [torch.tensor([[6.3, -4.1, -1.0, 3.9, 1.6, 1.5, 0.4],
                           [18.5, 6.6, -0.8, 1.8, 0.7, 1.7, -1.2]])]
    labels = [torch.tensor([0, 1])]
    t = head.targets(boxes, labels, (32, 32))
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    losses = []
    for _ in range(50):
        loss = head.loss(head(bev), t)
        opt.zero_grad()
        sum(loss.values()).backward()
        opt.step()
        losses.append(loss['loss_heatmap'].item())
    assert losses[-1] < 0.5 * losses[0]
    with torch.no_grad():
        db, ds, dl = head.decode(head(bev), score_threshold=0.0, max_det=2)[0]
    order = torch.argsort(dl)
    assert dl[order].tolist() == [0, 1]
    torch.testing.assert_close(db[order], boxes[0], atol=0.3, rtol=0)
