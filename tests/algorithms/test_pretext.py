"""Pretext-task inputs, targets and losses against brute-force references; each pretext method
lowers its loss on one fixed digits batch."""
import itertools
import math

import pytest
import torch
from mmengine.config import Config

from conftest import ROOT
from mm_ssl.datasets import DigitsDataset
from mm_ssl.losses import colorization_loss, masked_mse, pretext_classification
from mm_ssl.losses.pretext import ab_bins
from mm_ssl.registry import MODELS
from mm_ssl.transforms import (grid_tiles, jigsaw_permutations, lab_to_rgb,
                               min_hamming_distance, region_mask, rgb_to_lab, rotate_all,
                               shuffle_tiles)
from mm_ssl.transforms.pretext import CENTRE, NEIGHBOURS


def test_rotations_and_labels_match_index_formula():
    x = torch.randn(3, 2, 5, 5)
    rotated, labels = rotate_all(x)
    assert labels.tolist() == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3
    for k in range(4):
        for b in range(3):
            ref = x[b].clone()
            for _ in range(k):   # one counter-clockwise turn: out[i][j] = in[j][n-1-i]
                ref = torch.stack([torch.stack([ref[:, j, 4 - i] for j in range(5)], -1)
                                   for i in range(5)], -2)
            assert torch.equal(rotated[k * 3 + b], ref)


def test_tiles_are_the_cells_of_the_grid():
    x = torch.randn(2, 3, 32, 32)
    tiles = grid_tiles(x, grid=3, gap=2, jitter=False)
    assert tiles.shape == (2, 9, 3, 8, 8)
    for b, k in itertools.product(range(2), range(9)):
        top, left = 1 + 10 * (k // 3) + 1, 1 + 10 * (k % 3) + 1   # margin 1, cell 10, gap 2
        assert torch.equal(tiles[b, k], x[b, :, top:top + 8, left:left + 8])


def test_jittered_tiles_stay_inside_their_cells():
    torch.manual_seed(0)
    x = torch.randn(4, 1, 32, 32)
    tiles = grid_tiles(x, grid=3, gap=2, jitter=True)
    offsets = set()
    for b, k in itertools.product(range(4), range(9)):
        cell_top, cell_left = 1 + 10 * (k // 3), 1 + 10 * (k % 3)
        found = [(dy, dx) for dy, dx in itertools.product(range(3), range(3))
                 if torch.equal(tiles[b, k], x[b, :, cell_top + dy:cell_top + dy + 8,
                                               cell_left + dx:cell_left + dx + 8])]
        assert len(found) == 1
        offsets.add(found[0])
    assert len(offsets) > 1


def test_relative_position_labels_are_the_neighbour_directions():
    # pixel value = its (row, col), so each tile tells where it was cut
    rows, cols = torch.meshgrid(torch.arange(32.), torch.arange(32.), indexing='ij')
    tiles = grid_tiles(torch.stack([rows, cols])[None], grid=3, gap=2)[0]     # (9, 2, 8, 8)
    directions = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
    centre = tiles[CENTRE, :, 0, 0]
    for label, (dy, dx) in enumerate(directions):
        corner = tiles[NEIGHBOURS[label], :, 0, 0]
        assert corner.tolist() == [centre[0] + 10 * dy, centre[1] + 10 * dx]


def brute_force_greedy(num_permutations, num_tiles, first):
    every = list(itertools.permutations(range(num_tiles)))
    chosen = [first]
    for _ in range(num_permutations - 1):
        best, best_mean = None, -1.0
        for j, p in enumerate(every):
            if j in chosen:
                continue
            mean = sum(sum(a != b for a, b in zip(p, every[c])) for c in chosen) / len(chosen)
            if mean > best_mean:
                best, best_mean = j, mean
        chosen.append(best)
    return [every[c] for c in chosen]


def test_jigsaw_permutation_set_is_the_greedy_maximal_hamming_set():
    perms = jigsaw_permutations(12, num_tiles=5, seed=3)
    first = every_index = list(itertools.permutations(range(5))).index(tuple(perms[0].tolist()))
    assert [tuple(p) for p in perms.tolist()] == brute_force_greedy(12, 5, first)
    assert every_index == int(torch.randint(120, (), generator=torch.Generator().manual_seed(3)))


@pytest.mark.parametrize('size', [2, 30, 100])
def test_jigsaw_permutations_distinct_sized_and_min_distance(size):
    perms = jigsaw_permutations(size, num_tiles=9)
    assert perms.shape == (size, 9)
    assert all(sorted(p) == list(range(9)) for p in perms.tolist())
    assert len({tuple(p) for p in perms.tolist()}) == size
    brute = min(sum(a != b for a, b in zip(p, q))
                for p, q in itertools.combinations(perms.tolist(), 2))
    assert min_hamming_distance(perms) == brute


def test_jigsaw_1000_permutations_match_the_paper():
    # Noroozi & Favaro 2016, table 1, "maximal" set of 1000: average Hamming distance 8.00,
    # minimum 2
    perms = jigsaw_permutations(1000)
    distances = (perms[:, None] != perms[None]).sum(-1).double()
    assert distances.sum() / (1000 * 999) == pytest.approx(8.00, abs=0.01)
    assert min_hamming_distance(perms) == 2


def test_shuffled_tiles_follow_the_chosen_permutation():
    tiles = torch.randn(3, 9, 4)
    perms = jigsaw_permutations(5)
    choice = torch.tensor([4, 0, 2])
    out = shuffle_tiles(tiles, perms, choice)
    for b in range(3):
        for i in range(9):
            assert torch.equal(out[b, i], tiles[b, perms[choice[b], i]])


def test_lab_of_primaries_and_round_trip():
    rgb = torch.tensor([[1., 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]]).T[:, :, None]
    lab = rgb_to_lab(rgb)[:, :, 0].T                                     # (5, 3)
    # CIE L*a*b* of sRGB white and primaries under D65 (published reference values)
    ref = torch.tensor([[100, 0, 0], [53.24, 80.09, 67.20], [87.73, -86.18, 83.18],
                        [32.30, 79.19, -107.86], [0, 0, 0]])
    assert torch.allclose(lab, ref, atol=0.02)
    x = torch.rand(2, 4, 3, 6, 6, dtype=torch.float64)
    assert torch.allclose(lab_to_rgb(rgb_to_lab(x)), x, atol=1e-6)
    assert (lab_to_rgb(rgb_to_lab(x.float())) - x).abs().max() < 1e-3


def test_ab_bins_and_colorization_loss_against_a_loop():
    torch.manual_seed(0)
    ab = torch.empty(2, 2, 3, 4).uniform_(-130, 130)
    logits = torch.randn(2, 484, 3, 4, dtype=torch.float64)
    bins = ab_bins(ab, bin_size=10, ab_max=110)
    total = 0.0
    for b, i, j in itertools.product(range(2), range(3), range(4)):
        ia = min(max(math.floor((ab[b, 0, i, j].item() + 110) / 10), 0), 21)
        ib = min(max(math.floor((ab[b, 1, i, j].item() + 110) / 10), 0), 21)
        assert bins[b, i, j] == ia * 22 + ib
        row = logits[b, :, i, j].tolist()
        total += -(row[ia * 22 + ib] - math.log(sum(math.exp(v) for v in row)))
    assert math.isclose(colorization_loss(logits, ab, 10, 110).item(), total / 24, rel_tol=1e-9)


def test_region_masks_and_masked_mse_by_hand():
    central = region_mask(2, 8, 8, fraction=0.5)
    ref = torch.zeros(8, 8, dtype=torch.bool)
    ref[2:6, 2:6] = True
    assert central.shape == (2, 1, 8, 8) and torch.equal(central[1, 0], ref)
    torch.manual_seed(0)
    masks = region_mask(50, 10, 12, fraction=0.5, random=True)[:, 0]
    tops = set()
    for m in masks:
        rows, cols = m.nonzero(as_tuple=True)
        top, left = int(rows.min()), int(cols.min())
        assert m.sum() == 30 and m[top:top + 5, left:left + 6].all()
        tops.add(top)
    assert tops == set(range(6))
    pred, target = torch.zeros(1, 2, 2, 2), torch.arange(8.).view(1, 2, 2, 2)
    mask = torch.tensor([[[[True, False], [False, True]]]])
    # masked pixels (0,0) and (1,1) of both channels: values 0, 3, 4, 7
    assert masked_mse(pred, target, mask).item() == pytest.approx((0 + 9 + 16 + 49) / 4)


def test_pretext_classification_by_hand():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    out = pretext_classification(logits, torch.tensor([0, 0]))
    ref = (-math.log(math.e ** 2 / (math.e ** 2 + 1)) - math.log(1 / (1 + math.e))) / 2
    assert out['loss'].item() == pytest.approx(ref) and out['acc_pretext'].item() == 50


PRETEXT_CONFIGS = {
    'RotationPrediction': 'configs/rotation/rotation_resnet18_1xb256-100e_digits.py',
    'RelativePosition':
        'configs/relative_position/relative_position_resnet18_1xb256-100e_digits.py',
    'Jigsaw': 'configs/jigsaw/jigsaw_resnet18_1xb256-100e_digits.py',
    'Colorization': 'configs/colorization/colorization_resnet18_1xb256-100e_digits.py',
    'ContextEncoder': 'configs/context_encoder/context_encoder_resnet18_1xb256-100e_digits.py',
}


@pytest.mark.parametrize('method', sorted(PRETEXT_CONFIGS))
def test_pretext_overfits_one_batch(method):
    torch.manual_seed(0)
    cfg = Config.fromfile(f'{ROOT}/{PRETEXT_CONFIGS[method]}')
    size = 16 if method == 'Colorization' else 32   # the 3x3 stem is costly at 32 px
    if method == 'ContextEncoder':
        cfg.model.head.out_size = size
    if method == 'Jigsaw':
        cfg.model.num_permutations = 10
    for view in cfg.model.data_preprocessor.augment.views:
        view['size'] = size
    model = MODELS.build(cfg.model).train()
    ds = DigitsDataset(split='train', size=size)
    img = ds.images[:8]
    if method == 'Colorization':   # digits are grey: tint each one so there is colour to learn
        img = (img * torch.rand(8, 3, 1, 1, generator=torch.Generator().manual_seed(0))).byte()
    data = model.data_preprocessor(dict(img=img, label=ds.labels[:8], idx=torch.arange(8)),
                                   training=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(10):
        torch.manual_seed(1)   # the same jitter, permutations and masks at every step
        out = model(data['inputs'], data['data_samples'], mode='loss')
        opt.zero_grad()
        (out['loss'] + out['loss_probe']).backward()
        opt.step()
        losses.append(out['loss'].item())
    assert min(losses[-3:]) < 0.85 * losses[0], losses
    assert model(data['inputs'][0], mode='tensor').shape == (8, 512)
