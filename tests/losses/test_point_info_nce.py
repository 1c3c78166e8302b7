"""PointContrast's PointInfoNCE and its pair sampling against float64 loops, brute force and a
hand-computed case."""
import math

import torch

from mm_ssl.losses import PointInfoNCELoss, point_info_nce, sample_point_pairs
from mm_ssl.losses.point_contrast import first_of_each


def point_info_nce_loop(feats_a, feats_b, pairs, temperature):
    """PointContrast eq. 2 written out over the pairs of all frames, in float64."""
    queries, keys = [], []
    for fa, fb, (ia, ib) in zip(feats_a, feats_b, pairs):
        for i, j in zip(ia.tolist(), ib.tolist()):
            queries.append(fb[j].double() / fb[j].double().norm())
            keys.append(fa[i].double() / fa[i].double().norm())
    total = 0.0
    for q, k in zip(queries, keys):
        denominator = sum(math.exp(float(q @ other) / temperature) for other in keys)
        total -= math.log(math.exp(float(q @ k) / temperature) / denominator)
    return total / len(queries)


def random_views(sizes, dim=8, seed=0):
    """Per frame: features of both views, view B a permutation of view A, all candidate pairs."""
    g = torch.Generator().manual_seed(seed)
    feats_a, feats_b, pairs = [], [], []
    for n in sizes:
        perm = torch.randperm(n, generator=g)
        feats_a.append(torch.randn(n, dim, generator=g))
        feats_b.append(torch.randn(n, dim, generator=g))
        pairs.append((perm, torch.arange(n)))
    return feats_a, feats_b, pairs


def test_first_of_each_finds_the_first_row_of_every_distinct_row():
    keys = torch.tensor([[1, 2, 0], [0, 0, 0], [1, 2, 0], [5, 1, 1], [0, 0, 0], [5, 1, 2]])
    assert first_of_each(keys).tolist() == [0, 1, 3, 5]
    assert first_of_each(torch.zeros(0, 3, dtype=torch.long)).tolist() == []


def test_every_point_in_its_own_voxel_uses_all_pairs_and_equals_the_float64_loop():
    feats_a, feats_b, pairs = random_views([7, 5])
    cells = [torch.arange(len(f))[:, None].repeat(1, 3) for f in feats_a]
    loss = point_info_nce(feats_a, feats_b, pairs, cells, cells, num_pairs=4096,
                          temperature=0.4)
    assert abs(loss.item() - point_info_nce_loop(feats_a, feats_b, pairs, 0.4)) < 1e-5


def test_hand_computed_case():
    # two pairs, orthogonal unit features: each query has cosine 1 with its key, 0 with the other
    feats_a = [torch.tensor([[2.0, 0.0], [0.0, 3.0]])]
    feats_b = [torch.tensor([[0.0, 1.0], [5.0, 0.0]])]
    pairs = [(torch.tensor([1, 0]), torch.tensor([0, 1]))]
    cells = [torch.tensor([[0, 0, 0], [1, 0, 0]])]
    loss = PointInfoNCELoss(num_pairs=4096, temperature=0.4)(feats_a, feats_b, pairs, cells,
                                                             cells)
    assert abs(loss.item() - math.log(1 + math.exp(-1 / 0.4))) < 1e-6


def test_sampling_keeps_one_pair_per_voxel_of_each_view_and_num_pairs_over_the_batch():
    g = torch.Generator().manual_seed(1)
    sizes = [300, 200]
    _, _, pairs = random_views(sizes)
    # coarse voxels: many points share one, in either view
    cells_a = [torch.randint(0, 4, (n, 3), generator=g) for n in sizes]
    cells_b = [torch.randint(0, 4, (n, 3), generator=g) for n in sizes]
    everything = sample_point_pairs(pairs, cells_a, cells_b, num_pairs=10**6, generator=g)
    for (ia, ib), (pa, pb), ca, cb in zip(everything, pairs, cells_a, cells_b):
        candidates = set(zip(pa.tolist(), pb.tolist()))
        assert set(zip(ia.tolist(), ib.tolist())) <= candidates
        assert len({tuple(c) for c in ca[ia].tolist()}) == len(ia)    # one pair per A voxel
        assert len({tuple(c) for c in cb[ib].tolist()}) == len(ib)    # one pair per B voxel
        assert len(ia) > 10
    available = sum(len(ia) for ia, _ in everything)
    some = sample_point_pairs(pairs, cells_a, cells_b, num_pairs=available // 2, generator=g)
    assert sum(len(ia) for ia, _ in some) == available // 2
    # drawn over the batch, not per frame: both frames keep pairs
    assert all(len(ia) for ia, _ in some)


def test_the_pair_kept_for_a_voxel_is_drawn_uniformly():
    # three view-B points in one voxel, matched to view-A points in three different voxels
    pairs = [(torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]))]
    cells_a = [torch.tensor([[0, 0, 0], [1, 0, 0], [2, 0, 0]])]
    cells_b = [torch.zeros(3, 3, dtype=torch.long)]
    g = torch.Generator().manual_seed(0)
    counts = torch.zeros(3)
    for _ in range(600):
        (ia, ib), = sample_point_pairs(pairs, cells_a, cells_b, generator=g)
        assert len(ia) == 1
        counts[ib] += 1
    assert (counts > 150).all() and (counts < 250).all(), counts


def test_loss_on_duplicated_voxels_equals_the_loop_over_the_sampled_pairs():
    feats_a, feats_b, pairs = random_views([40, 30], seed=3)
    g = torch.Generator().manual_seed(2)
    cells_a = [torch.randint(0, 3, (len(f), 3), generator=g) for f in feats_a]
    cells_b = [torch.randint(0, 3, (len(f), 3), generator=g) for f in feats_b]
    loss = point_info_nce(feats_a, feats_b, pairs, cells_a, cells_b, num_pairs=12,
                          temperature=0.4, generator=torch.Generator().manual_seed(5))
    sampled = sample_point_pairs(pairs, cells_a, cells_b, num_pairs=12,
                                 generator=torch.Generator().manual_seed(5))
    assert sum(len(ia) for ia, _ in sampled) == 12
    assert abs(loss.item() - point_info_nce_loop(feats_a, feats_b, sampled, 0.4)) < 1e-5
