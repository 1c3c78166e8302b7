"""SimIPU's pairing against independent references: a brute-force matcher, a hand projection,
hand bilinear interpolation, and the loss from explicitly paired features."""
import itertools

import pytest
import torch

from mm_ssl.losses import SimIPULoss, cross_modal_loss, info_nce, intra_modal_loss
from mm_ssl.ops.matching import match_points
from mm_ssl.ops.projection import project_into_image, sample_at_pixels


@pytest.mark.parametrize('seed', range(4))
def test_matching_is_minimum_cost_like_brute_force(seed):
    g = torch.Generator().manual_seed(seed)
    a, b = torch.rand(6, 3, generator=g), torch.rand(6, 3, generator=g)
    ia, ib = match_points(a, b)
    cost = (a[ia] - b[ib]).norm(dim=1).sum().item()
    best = min(sum((a[i] - b[j]).norm().item() for i, j in enumerate(p))
               for p in itertools.permutations(range(6)))
    assert sorted(ia.tolist()) == list(range(6)) and sorted(ib.tolist()) == list(range(6))
    assert cost == pytest.approx(best, abs=1e-6)


def test_matching_recovers_a_permutation_and_gates_far_pairs():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(50, 3, generator=g) * 10
    perm = torch.randperm(50, generator=g)
    b = a[perm] + 0.01 * torch.randn(50, 3, generator=g)
    ia, ib = match_points(a, b)
    assert torch.equal(perm[ib], ia)                 # b[j] came from a[perm[j]]
    b[:5] += 100.0                                    # five points lost their partner
    ia, ib = match_points(a, b, max_distance=1.0)
    assert len(ia) == 45 and not set(ib.tolist()) & set(range(5))


def test_projection_equals_hand_computation():
    lidar2img = torch.tensor([[700., 600., 0., 10.], [300., 0., -700., 5.],
                              [1., 0., 0., 0.2], [0., 0., 0., 1.]], dtype=torch.float64)
    xyz = torch.tensor([[10., 1., -1.], [20., -3., 0.5], [-5., 0., 0.], [10., 50., 0.]],
                       dtype=torch.float64)
    uv, depth, valid = project_into_image(xyz, lidar2img, (400, 1300))
    for i, (x, y, z) in enumerate(xyz.tolist()):
        u = (700 * x + 600 * y + 10) / (x + 0.2)
        v = (300 * x - 700 * z + 5) / (x + 0.2)
        assert depth[i].item() == pytest.approx(x + 0.2)
        if x + 0.2 > 0:
            assert uv[i].tolist() == pytest.approx([u, v])
    # behind the camera, and in front but far outside the image, are not valid
    assert valid.tolist() == [True, True, False, False]


def test_sampling_at_pixels_is_bilinear_at_any_stride():
    image = torch.arange(6 * 8, dtype=torch.float64).view(1, 6, 8)      # value = 8*y + x
    uv = torch.tensor([[0., 0.], [3., 2.], [2.5, 1.5], [6.25, 4.75]], dtype=torch.float64)
    got = sample_at_pixels(image, uv, (6, 8))[:, 0]
    assert got.tolist() == pytest.approx([8 * v + u for u, v in uv.tolist()])
    # a stride-2 average-pooled map of a linear ramp is the same ramp on pixel centres
    pooled = torch.nn.functional.avg_pool2d(image[None], 2)[0]
    inner = torch.tensor([[1.5, 1.5], [4.0, 2.7], [5.2, 3.3]], dtype=torch.float64)
    assert sample_at_pixels(pooled, inner, (6, 8))[:, 0].tolist() == pytest.approx(
        [8 * v + u for u, v in inner.tolist()])


def test_intra_loss_exact_pairs_equal_explicit_info_nce():
    g = torch.Generator().manual_seed(1)
    fa = [torch.randn(7, 4, generator=g), torch.randn(5, 4, generator=g)]
    perms = [torch.randperm(7, generator=g), torch.randperm(5, generator=g)]
    fb = [torch.randn(7, 4, generator=g), torch.randn(5, 4, generator=g)]
    loss = intra_modal_loss(fa, fb, pairs=[(p, torch.arange(len(p))) for p in perms],
                            temperature=0.1)
    ref = info_nce(torch.cat(fb), torch.cat([fa[0][perms[0]], fa[1][perms[1]]]), temperature=0.1)
    assert loss.item() == pytest.approx(ref.item(), abs=1e-6)
    # the same pairs found by matching points moved back into view A's frame
    xyz_a = [torch.rand(7, 3, generator=g) * 5, torch.rand(5, 3, generator=g) * 5]
    xyz_b = [xyz_a[0][perms[0]], xyz_a[1][perms[1]]]
    matched = intra_modal_loss(fa, fb, xyz_a, xyz_b, temperature=0.1)
    assert matched.item() == pytest.approx(ref.item(), abs=1e-6)


def test_cross_loss_uses_only_points_in_view_and_trains_both_sides():
    lidar2img = torch.tensor([[4., -4., 0., 0.], [4., 0., -4., 0.], [1., 0., 0., 0.],
                              [0., 0., 0., 1.]])[None]        # 8x8 image, principal point (4, 4)
    xyz = [torch.tensor([[1., 0., 0.], [2., 0.5, 0.], [-1., 0., 0.], [1., 5., 0.]])]
    point_feats = [torch.randn(4, 3, requires_grad=True)]
    fmap = torch.randn(1, 3, 2, 2, requires_grad=True)       # stride-4 map of the 8x8 image
    loss = cross_modal_loss(point_feats, xyz, fmap, lidar2img, (8, 8), temperature=0.5)
    uv, _, valid = project_into_image(xyz[0], lidar2img[0], (8, 8))
    assert valid.tolist() == [True, True, False, False]
    ref = info_nce(sample_at_pixels(fmap[0], uv[valid], (8, 8)), point_feats[0][valid], None, 0.5)
    assert loss.item() == pytest.approx(ref.item(), abs=1e-6)
    loss.backward()
    assert point_feats[0].grad[:2].abs().sum() > 0 and point_feats[0].grad[2:].abs().sum() == 0
    assert fmap.grad.abs().sum() > 0


@pytest.mark.parametrize('seed', range(6))
def test_gated_matching_equals_dense_hungarian_on_gated_costs(seed):
    """The component-wise matcher against one dense Hungarian whose disallowed pairs cost more
    than any set of allowed ones: same number of pairs and the same total distance."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(300, 3, generator=g) * torch.tensor([20., 20., 2.])
    b = torch.cat([a[torch.randperm(300, generator=g)[:200]]
                   + 0.2 * torch.randn(200, 3, generator=g),
                   torch.rand(60, 3, generator=g) * 20])
    a[0] = b[0] = torch.tensor([100., 100., 100.])   # an isolated exact pair (distance 0)
    gate = 0.4
    ia, ib = match_points(a, b, max_distance=gate)
    d = torch.cdist(a.double(), b.double()).numpy()
    capped = np.where(d <= gate, d, 1e6)
    r, c = linear_sum_assignment(capped)
    ref = capped[r, c][capped[r, c] <= gate]
    got = d[ia.numpy(), ib.numpy()]
    assert len(got) == len(ref) and (got <= gate).all()
    assert got.sum() == pytest.approx(ref.sum(), abs=1e-9)
    assert len(set(ia.tolist())) == len(ia) and len(set(ib.tolist())) == len(ib)
    assert ia.tolist() == sorted(ia.tolist()) and (0, 0) in zip(ia.tolist(), ib.tolist())


def test_simipu_loss_module_weighs_the_two_terms():
    """SimIPULoss (what configs name) = the two functions at its temperature, times the weights."""
    g = torch.Generator().manual_seed(2)
    fa, fb = [torch.randn(6, 4, generator=g)], [torch.randn(6, 4, generator=g)]
    pairs = [(torch.arange(6), torch.arange(6))]
    lidar2img = torch.tensor([[4., -4., 0., 0.], [4., 0., -4., 0.], [1., 0., 0., 0.],
                              [0., 0., 0., 1.]])[None]
    xyz = [torch.tensor([[1., 0., 0.], [2., 0.5, 0.], [1.5, -0.3, 0.2]])]
    points, fmap = [torch.randn(3, 4, generator=g)], torch.randn(1, 4, 2, 2, generator=g)
    cross = dict(point_feats=points, xyz=xyz, pixel_feature_maps=fmap, lidar2img=lidar2img,
                 image_hw=(8, 8))
    losses = SimIPULoss(temperature=0.2, intra_weight=0.5, cross_weight=2.0)(
        intra=dict(feats_a=fa, feats_b=fb, pairs=pairs), cross=cross)
    assert losses['loss_intra'].item() == pytest.approx(
        0.5 * intra_modal_loss(fa, fb, pairs=pairs, temperature=0.2).item(), abs=1e-6)
    assert losses['loss_cross'].item() == pytest.approx(
        2.0 * cross_modal_loss(**cross, temperature=0.2).item(), abs=1e-6)
