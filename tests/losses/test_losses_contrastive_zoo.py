"""The contrastive-family losses of the method zoo (NPID, InvaSpread, DCL / DCW, hard negatives,
alignment / uniformity, DirectCLR, triplet, SEED) against float64 loop re-computations."""
import math

import pytest
import torch

from mm_ssl.errors import ConfigError
from mm_ssl.losses import (NPIDLoss, align_uniform, alignment, batch_hard_triplet, dcl,
                           directclr, hard_negative_nt_xent, invaspread, npid_nce, nt_xent,
                           seed_loss, triplet, uniformity)
from mm_ssl.models.memory import MemoryBank


def unit(v):
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v]


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def sq_dist(a, b):
    return sum((x - y) ** 2 for x, y in zip(a, b))


def rand(*shapes, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=g, dtype=torch.float64) for s in shapes]


def two_view_batch(z1, z2, extra=None):
    """The 2N anchors, the index of each one's positive, and every candidate (batch + extra)."""
    z = [unit(r) for r in z1.tolist() + z2.tolist()]
    n = len(z1)
    extra = [] if extra is None else [unit(r) for r in extra.tolist()]
    return z, [(i + n) % (2 * n) for i in range(2 * n)], z + extra


def ref_info_nce_with_bank(q, k, neg, t):
    q, k, neg = ([unit(r) for r in x.tolist()] for x in (q, k, neg))
    total = 0.0
    for qi, ki in zip(q, k):
        pos = math.exp(dot(qi, ki) / t)
        total += -math.log(pos / (pos + sum(math.exp(dot(qi, n) / t) for n in neg)))
    return total / len(q)


def ref_npid_nce(q, pos, neg, n_data, t):
    q, pos, neg = ([unit(r) for r in x.tolist()] for x in (q, pos, neg))
    m = len(neg)
    z = n_data / (len(q) * m) * sum(math.exp(dot(qi, nk) / t) for qi in q for nk in neg)
    noise = m / n_data
    total = 0.0
    for qi, pi in zip(q, pos):
        p = math.exp(dot(qi, pi) / t) / z
        total -= math.log(p / (p + noise))
        for nk in neg:
            pk = math.exp(dot(qi, nk) / t) / z
            total -= math.log(1 - pk / (pk + noise))
    return total / len(q)


def ref_nt_xent_with_memory(z1, z2, mem, t):
    z, pos, cand = two_view_batch(z1, z2, mem)
    total = 0.0
    for a in range(len(z)):
        denom = sum(math.exp(dot(z[a], c) / t) for j, c in enumerate(cand) if j != a)
        total -= math.log(math.exp(dot(z[a], z[pos[a]]) / t) / denom)
    return total / len(z)


def ref_dcl(z1, z2, t, sigma=None, mem=None):
    z, pos, cand = two_view_batch(z1, z2, mem)
    n = len(z1)
    cos = [dot(z[i], z[i + n]) for i in range(n)]
    mean_exp = sum(math.exp(c / sigma) for c in cos) / n if sigma else 1.0
    total = 0.0
    for a in range(2 * n):
        w = 2 - math.exp(cos[a % n] / sigma) / mean_exp if sigma else 1.0
        neg = sum(math.exp(dot(z[a], c) / t) for j, c in enumerate(cand) if j not in (a, pos[a]))
        total += -w * dot(z[a], z[pos[a]]) / t + math.log(neg)
    return total / (2 * n)


def quantile(values, q):
    """Linear interpolation between order statistics (numpy's and torch's default)."""
    v = sorted(values)
    x = q * (len(v) - 1)
    lo, hi = math.floor(x), math.ceil(x)
    return v[lo] + (v[hi] - v[lo]) * (x - lo)


def ref_hard_negative(z1, z2, t, q, mem=None):
    z, pos, cand = two_view_batch(z1, z2, mem)
    total = 0.0
    for a in range(len(z)):
        sims = [dot(z[a], c) for j, c in enumerate(cand) if j not in (a, pos[a])]
        threshold = quantile(sims, q)
        p = math.exp(dot(z[a], z[pos[a]]) / t)
        total -= math.log(p / (p + sum(math.exp(s / t) for s in sims if s >= threshold)))
    return total / len(z)


def ref_invaspread(z1, z2, t):
    z, pos, _ = two_view_batch(z1, z2)
    total = 0.0
    for a in range(len(z)):
        denom = sum(math.exp(dot(z[a], z[k]) / t) for k in range(len(z)) if k != a)
        prob = [math.exp(dot(z[a], z[k]) / t) / denom for k in range(len(z))]
        total -= math.log(prob[pos[a]])
        total -= sum(math.log(1 - prob[k]) for k in range(len(z)) if k not in (a, pos[a]))
    return total / len(z)


@pytest.mark.parametrize('t', [0.07, 0.5])
def test_npid_nce_matches_loop(t):
    q, pos, neg = rand((5, 8), (5, 8), (9, 8), seed=1)
    assert npid_nce(q, pos, neg, 100, t).item() == pytest.approx(
        ref_npid_nce(q, pos, neg, 100, t), rel=1e-9)


def test_npid_softmax_is_info_nce_over_the_bank_samples():
    q, pos, neg = rand((6, 8), (6, 8), (11, 8), seed=2)
    loss = NPIDLoss(temperature=0.1, mode='softmax')(q, pos, neg, num_data=100)
    assert loss.item() == pytest.approx(ref_info_nce_with_bank(q, pos, neg, 0.1), rel=1e-9)
    with pytest.raises(ConfigError, match='mode'):
        NPIDLoss(mode='ncee')


def test_memory_bank_update_follows_momentum_formula_and_rejects_big_indices():
    torch.manual_seed(0)
    bank = MemoryBank(size=6, dim=3, momentum=0.25)
    before = bank.features.clone()
    idx, feats = torch.tensor([4, 1]), torch.randn(2, 3)
    bank.update(idx, feats)
    for row, i in enumerate(idx.tolist()):
        f = unit(feats[row].tolist())
        mixed = unit([0.25 * v + 0.75 * x for v, x in zip(before[i].tolist(), f)])
        assert bank.features[i].tolist() == pytest.approx(mixed, abs=1e-6)
    untouched = [0, 2, 3, 5]
    assert torch.equal(bank.features[untouched], before[untouched])
    assert torch.allclose(bank.features.norm(dim=1), torch.ones(6))
    assert bank.sample(50).shape == (50, 3)
    with pytest.raises(ConfigError, match='6 entries'):
        bank.get(torch.tensor([6]))


@pytest.mark.parametrize('t', [0.1, 0.5])
def test_nt_xent_with_memory_negatives_matches_loop(t):
    z1, z2, mem = rand((4, 6), (4, 6), (7, 6), seed=3)
    assert nt_xent(z1, z2, t, negatives=mem).item() == pytest.approx(
        ref_nt_xent_with_memory(z1, z2, mem, t), rel=1e-9)


@pytest.mark.parametrize('sigma', [None, 0.5])
@pytest.mark.parametrize('with_memory', [False, True])
def test_dcl_and_dcw_match_loop(sigma, with_memory):
    z1, z2, mem = rand((5, 6), (5, 6), (4, 6), seed=4)
    mem = mem if with_memory else None
    assert dcl(z1, z2, 0.2, sigma, negatives=mem).item() == pytest.approx(
        ref_dcl(z1, z2, 0.2, sigma, mem), rel=1e-9)


def test_dcl_is_below_nt_xent_by_the_removed_positive():
    z1, z2 = rand((6, 8), (6, 8), seed=5)
    assert dcl(z1, z2, 0.5).item() < nt_xent(z1, z2, 0.5).item()


@pytest.mark.parametrize('q', [0.0, 0.3, 0.75])
def test_hard_negative_selection_matches_loop(q):
    z1, z2, mem = rand((5, 6), (5, 6), (6, 6), seed=6)
    assert hard_negative_nt_xent(z1, z2, 0.2, q).item() == pytest.approx(
        ref_hard_negative(z1, z2, 0.2, q), rel=1e-9)
    assert hard_negative_nt_xent(z1, z2, 0.2, q, negatives=mem).item() == pytest.approx(
        ref_hard_negative(z1, z2, 0.2, q, mem), rel=1e-9)


def test_hard_negative_with_quantile_zero_is_nt_xent():
    z1, z2 = rand((7, 5), (7, 5), seed=7)
    assert hard_negative_nt_xent(z1, z2, 0.3, 0.0).item() == pytest.approx(
        nt_xent(z1, z2, 0.3).item(), rel=1e-12)
    with pytest.raises(ConfigError, match='quantile'):
        hard_negative_nt_xent(z1, z2, 0.3, 1.0)


@pytest.mark.parametrize('t', [0.1, 0.5])
def test_invaspread_matches_loop(t):
    z1, z2 = rand((5, 6), (5, 6), seed=8)
    assert invaspread(z1, z2, t).item() == pytest.approx(ref_invaspread(z1, z2, t), rel=1e-9)


def test_alignment_and_uniformity_match_loops():
    x, y = rand((6, 5), (6, 5), seed=9)
    xs, ys = [unit(r) for r in x.tolist()], [unit(r) for r in y.tolist()]
    for alpha in (1, 2):
        ref = sum(math.sqrt(sq_dist(a, b)) ** alpha for a, b in zip(xs, ys)) / len(xs)
        assert alignment(x, y, alpha).item() == pytest.approx(ref, rel=1e-9)
    pairs = [(i, j) for i in range(6) for j in range(i + 1, 6)]
    for t in (1, 2):
        ref = math.log(sum(math.exp(-t * sq_dist(xs[i], xs[j])) for i, j in pairs) / len(pairs))
        assert uniformity(x, t).item() == pytest.approx(ref, rel=1e-9)
    assert align_uniform(x, y, 2, 2, 0.5).item() == pytest.approx(
        (alignment(x, y) + 0.5 * (uniformity(x) + uniformity(y)) / 2).item(), rel=1e-12)


def test_directclr_uses_only_the_sub_vector():
    h1, h2 = (h.requires_grad_() for h in rand((5, 10), (5, 10), seed=10))
    loss = directclr(h1, h2, dim=4, temperature=0.2)
    z, pos, _ = two_view_batch(h1[:, :4].detach(), h2[:, :4].detach())
    ref = 0.0
    for a in range(len(z)):
        denom = sum(math.exp(dot(z[a], z[k]) / 0.2) for k in range(len(z)) if k != a)
        ref -= math.log(math.exp(dot(z[a], z[pos[a]]) / 0.2) / denom) / len(z)
    assert loss.item() == pytest.approx(ref, rel=1e-9)
    loss.backward()
    assert h1.grad[:, 4:].abs().max() == 0 and h1.grad[:, :4].abs().max() > 0
    with pytest.raises(ConfigError, match='dim'):
        directclr(h1, h2, dim=11)


def test_triplet_and_batch_hard_mining_match_loop():
    z1, z2, neg = rand((6, 4), (6, 4), (6, 4), seed=11)
    a, p, n = ([unit(r) for r in x.tolist()] for x in (z1, z2, neg))
    ref = sum(max(0.0, sq_dist(a[i], p[i]) - sq_dist(a[i], n[i]) + 0.3) for i in range(6)) / 6
    assert triplet(z1, z2, neg, 0.3).item() == pytest.approx(ref, rel=1e-9)

    def one_way(x, y):
        total = 0.0
        for i in range(6):
            j = min((j for j in range(6) if j != i), key=lambda j: sq_dist(x[i], y[j]))
            total += max(0.0, sq_dist(x[i], y[i]) - sq_dist(x[i], y[j]) + 0.3)
        return total / 6

    ref = (one_way(a, p) + one_way(p, a)) / 2
    assert batch_hard_triplet(z1, z2, 0.3).item() == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize('queue_len', [0, 7])
def test_seed_matches_loop(queue_len):
    s, t, queue = rand((4, 6), (4, 6), (queue_len, 6), seed=12)
    ts, tt = 0.2, 0.05
    ss, tn, qs = ([unit(r) for r in x.tolist()] for x in (s, t, queue))
    ref = 0.0
    for si, ti in zip(ss, tn):
        bank = qs + [ti]
        et = [math.exp(dot(ti, d) / tt) for d in bank]
        es = [math.exp(dot(si, d) / ts) for d in bank]
        ref -= sum(a / sum(et) * math.log(b / sum(es)) for a, b in zip(et, es)) / len(ss)
    loss = seed_loss(s.requires_grad_(), t.requires_grad_(), queue, ts, tt)
    assert loss.item() == pytest.approx(ref, rel=1e-9)
    loss.backward()
    assert t.grad is None                        # the teacher side is a constant
    # an empty queue leaves only the teacher's own embedding: a certain match, nothing to learn
    assert bool(s.grad.abs().max() > 0) == (queue_len > 0)


def test_variants_pass_gradcheck():
    z1, z2, mem = (z.requires_grad_() for z in rand((4, 5), (4, 5), (3, 5), seed=13))
    for fn in (lambda a, b, c: dcl(a, b, 0.3, 0.5, negatives=c),
               lambda a, b, c: hard_negative_nt_xent(a, b, 0.3, 0.4, negatives=c),
               lambda a, b, c: invaspread(a, b, 0.3)):
        assert torch.autograd.gradcheck(fn, (z1, z2, mem))
    # SEED's teacher and queue are constants: only the student gets a gradient
    teacher, queue = z2.detach(), mem.detach()
    assert torch.autograd.gradcheck(lambda a: seed_loss(a, teacher, queue, 0.3, 0.1), (z1,))
