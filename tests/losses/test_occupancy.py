"""Occupancy-MAE's target and loss against float64 loops, a hand-computed case, and its decoder's
output grid."""
import math

import pytest
import spconv.pytorch as spconv
import torch

from mm_ssl.errors import ConfigError
from mm_ssl.losses import OccupancyLoss, occupancy_bce, occupancy_targets
from mm_ssl.models.heads import OccupancyDecoder


@pytest.mark.parametrize('stride', [1, 2, 4])
def test_occupancy_target_marks_the_cells_holding_a_voxel(stride):
    g = torch.Generator().manual_seed(stride)
    grid = (41, 24, 20)                            # OpenPCDet's grid: one z layer past the range
    coords = torch.cat([torch.randint(2, (300, 1), generator=g),
                        torch.randint(41, (300, 1), generator=g),
                        torch.randint(24, (300, 1), generator=g),
                        torch.randint(20, (300, 1), generator=g)], 1).int()
    shape = tuple(-(-(n - (i == 0)) // stride) for i, n in enumerate(grid))   # z: 40 layers
    target = occupancy_targets(coords, 2, shape, stride)
    expected = torch.zeros(2, *shape)
    for b, z, y, x in coords.tolist():
        cell = (z // stride, y // stride, x // stride)
        if all(c < n for c, n in zip(cell, shape)):
            expected[(b, *cell)] = 1.0
    assert torch.equal(target, expected)
    assert 0 < target.sum() < target.numel()


def reference_bce(logits, target, empty_weight):
    occupied, empty = [], []
    for s, t in zip(logits.flatten().tolist(), target.flatten().tolist()):
        p = 1 / (1 + math.exp(-s))
        (occupied if t else empty).append(-math.log(p) if t else -math.log(1 - p))
    total = sum(occupied) / len(occupied) if occupied else 0.0
    return total + (empty_weight * sum(empty) / len(empty) if empty else 0.0)


@pytest.mark.parametrize('empty_weight', [1.0, 0.3])
def test_occupancy_bce_is_the_mean_per_class_like_a_float64_loop(empty_weight):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 5, 4, generator=g, dtype=torch.float64) * 3
    target = (torch.rand(2, 3, 5, 4, generator=g) < 0.1).double()
    assert 0 < target.sum() < 12
    got = occupancy_bce(logits, target, empty_weight)
    assert got.item() == pytest.approx(reference_bce(logits, target, empty_weight), rel=1e-12)
    assert OccupancyLoss(empty_weight)(logits, target).item() == pytest.approx(got.item())


def test_occupancy_bce_by_hand():
    # logit 0 is p = 1/2 for both classes: log 2 each; one occupied of four cells does not
    # weigh the occupied class down to a quarter
    logits, target = torch.zeros(4), torch.tensor([1.0, 0.0, 0.0, 0.0])
    assert occupancy_bce(logits, target).item() == pytest.approx(2 * math.log(2))
    # a confident right answer on the occupied cell leaves only the empty cells' term
    logits = torch.tensor([50.0, 0.0, 0.0, 0.0])
    assert occupancy_bce(logits, target).item() == pytest.approx(math.log(2))
    # a batch without any occupied cell has only the empty term
    assert occupancy_bce(torch.zeros(3), torch.zeros(3)).item() == pytest.approx(math.log(2))


def test_balancing_gives_each_class_half_the_gradient():
    logits = torch.zeros(1000, requires_grad=True)
    target = torch.zeros(1000)
    target[:5] = 1.0
    occupancy_bce(logits, target).backward()
    # d/ds of the occupied mean is -(1 - p)/|O|, of the empty mean p/|E|: equal totals at p = 1/2
    assert logits.grad[:5].sum().item() == pytest.approx(-0.5)
    assert logits.grad[5:].sum().item() == pytest.approx(0.5)


@pytest.mark.parametrize('out_stride, up', [(8, 1), (4, 2), (2, 4)])
def test_decoder_upsamples_the_stride8_map_to_its_output_stride(out_stride, up):
    torch.manual_seed(0)
    coords = torch.tensor([[0, 0, 1, 2], [0, 4, 9, 3], [1, 2, 5, 5]], dtype=torch.int32)
    sp = spconv.SparseConvTensor(torch.randn(3, 16), coords, [5, 10, 6], 2)
    decoder = OccupancyDecoder(in_dim=16, in_stride=8, out_stride=out_stride)
    out = decoder(sp)
    assert out.shape == (2, 5 * up, 10 * up, 6 * up)
    out.sum().backward()
    assert decoder.layers[0].weight.grad.abs().sum() > 0


def test_decoder_refuses_a_stride_it_cannot_reach():
    with pytest.raises(ConfigError, match='power of two'):
        OccupancyDecoder(in_dim=16, in_stride=8, out_stride=3)
    with pytest.raises(ConfigError, match='power of two'):
        OccupancyDecoder(in_dim=16, in_stride=8, out_stride=16)
