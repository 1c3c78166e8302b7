"""SLidR's superpixel pooling and loss against float64 loops (pooling point by point, InfoNCE
written out) and a hand-computed case."""
import math

import pytest
import torch

from mm_ssl.losses import SuperpixelInfoNCELoss, superpixel_info_nce, superpixel_pool


def unit(v):
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v]


def mean_rows(rows):
    return [sum(col) / len(rows) for col in zip(*rows)]


def reference_loss(points, point_ids, pixels, pixel_ids, t):
    """Normalise every feature, average per superpixel with loops, keep the superpixels with a
    point, then InfoNCE of pooled points against pooled pixels with cosine similarity."""
    pooled_points, pooled_pixels = {}, {}
    for feats, ids, pooled in ((points, point_ids, pooled_points),
                               (pixels, pixel_ids, pooled_pixels)):
        members = {}
        for row, s in zip(feats.tolist(), ids.tolist()):
            if s >= 0:
                members.setdefault(s, []).append(unit(row))
        pooled.update({s: unit(mean_rows(rows)) for s, rows in members.items()})
    used = sorted(set(pooled_points) & set(pooled_pixels))
    total = 0.0
    for s in used:
        logits = [sum(a * b for a, b in zip(pooled_points[s], pooled_pixels[o])) / t
                  for o in used]
        total += -(logits[used.index(s)] - math.log(sum(math.exp(v) for v in logits)))
    return total / len(used)


def test_pooling_is_the_mean_of_each_superpixel_like_a_loop():
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(40, 5, generator=g, dtype=torch.float64)
    ids = torch.randint(-1, 6, (40,), generator=g)
    ids[ids == 4] = 5                                          # superpixel 4 stays empty
    means, counts = superpixel_pool(feats, ids, 7)
    for s in range(7):
        rows = [f for f, i in zip(feats.tolist(), ids.tolist()) if i == s]
        assert counts[s].item() == len(rows)
        expected = mean_rows(rows) if rows else [0.0] * 5
        assert means[s].tolist() == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize('seed', range(3))
def test_superpixel_info_nce_equals_a_float64_loop(seed):
    g = torch.Generator().manual_seed(seed)
    points = torch.randn(60, 8, generator=g, dtype=torch.float64)
    point_ids = torch.randint(-1, 9, (60,), generator=g)        # -1: no pixel, left out
    pixels = torch.randn(200, 8, generator=g, dtype=torch.float64)
    pixel_ids = torch.randint(-1, 12, (200,), generator=g)      # 9..11: superpixels no point hits
    got = superpixel_info_nce(points, point_ids, pixels, pixel_ids, temperature=0.07)
    expected = reference_loss(points, point_ids, pixels, pixel_ids, 0.07)
    assert got.item() == pytest.approx(expected, rel=1e-10)
    module = SuperpixelInfoNCELoss(temperature=0.07)
    assert module(points, point_ids, pixels, pixel_ids).item() == pytest.approx(got.item())


def test_superpixel_info_nce_by_hand():
    # two superpixels, each with points and pixels along one axis (and a padding pixel, -1):
    # pooled point 0 . pooled pixel 0 = 1, . pooled pixel 1 = 0, so each term is
    # -log(e^(1/t) / (e^(1/t) + e^0)) = log(1 + e^(-1/t))
    points = torch.tensor([[2.0, 0.0], [5.0, 0.0], [0.0, 1.0]])
    pixels = torch.tensor([[1.0, 0.0], [0.0, 3.0], [0.0, 2.0], [7.0, 7.0]])
    got = superpixel_info_nce(points, torch.tensor([0, 0, 1]), pixels,
                              torch.tensor([0, 1, 1, -1]), temperature=0.5)
    assert got.item() == pytest.approx(math.log(1 + math.exp(-2.0)), rel=1e-6)


def test_superpixels_without_points_are_no_negatives():
    g = torch.Generator().manual_seed(3)
    points, point_ids = torch.randn(30, 4, generator=g), torch.randint(0, 5, (30,), generator=g)
    pixels, pixel_ids = torch.randn(80, 4, generator=g), torch.randint(0, 5, (80,), generator=g)
    base = superpixel_info_nce(points, point_ids, pixels, pixel_ids)
    # pixels of a sixth superpixel that no point projects into change nothing
    more_pixels = torch.cat([pixels, torch.randn(20, 4, generator=g)])
    more_ids = torch.cat([pixel_ids, torch.full((20,), 5)])
    assert superpixel_info_nce(points, point_ids, more_pixels, more_ids).item() == \
        pytest.approx(base.item(), rel=1e-6)


def test_gradient_reaches_both_sides_through_the_pooling():
    g = torch.Generator().manual_seed(4)
    points = torch.randn(30, 4, generator=g, requires_grad=True)
    pixels = torch.randn(80, 4, generator=g, requires_grad=True)
    ids_p, ids_i = torch.randint(0, 5, (30,), generator=g), torch.randint(-1, 5, (80,), generator=g)
    superpixel_info_nce(points, ids_p, pixels, ids_i).backward()
    assert (points.grad.abs().sum(1) > 0).all()
    # padding pixels (-1) get no gradient, every other pixel does
    assert (pixels.grad[ids_i < 0] == 0).all() and (pixels.grad[ids_i >= 0].abs().sum(1) > 0).all()
