"""info_nce / nt_xent / normalized_mse against loop-based float64 re-computations."""
import math

import pytest
import torch

from mm_ssl.losses import info_nce, normalized_mse, nt_xent


def unit(v):
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v]


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def ref_info_nce(q, k, neg, t):
    q, k = [unit(r) for r in q.tolist()], [unit(r) for r in k.tolist()]
    neg = k if neg is None else [unit(r) for r in neg.tolist()]
    total = 0.0
    for i, qi in enumerate(q):
        pos = math.exp(dot(qi, k[i]) / t)
        if neg is k:   # in-batch: the other keys are the negatives
            denom = sum(math.exp(dot(qi, kj) / t) for kj in k)
        else:
            denom = pos + sum(math.exp(dot(qi, n) / t) for n in neg)
        total += -math.log(pos / denom)
    return total / len(q)


def ref_nt_xent(z1, z2, t):
    z = [unit(r) for r in z1.tolist() + z2.tolist()]
    n = len(z1)
    total = 0.0
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        denom = sum(math.exp(dot(z[i], z[k]) / t) for k in range(2 * n) if k != i)
        total += -math.log(math.exp(dot(z[i], z[j]) / t) / denom)
    return total / (2 * n)


@pytest.mark.parametrize('temperature', [0.07, 0.2, 1.0])
def test_info_nce_with_queue_matches_loop(temperature):
    g = torch.Generator().manual_seed(0)
    q, k, neg = (torch.randn(n, 16, generator=g, dtype=torch.float64) for n in (6, 6, 11))
    assert info_nce(q, k, neg, temperature).item() == pytest.approx(
        ref_info_nce(q, k, neg, temperature), abs=1e-5)


@pytest.mark.parametrize('temperature', [0.07, 0.5])
def test_info_nce_in_batch_matches_loop(temperature):
    g = torch.Generator().manual_seed(1)
    q, k = (torch.randn(7, 12, generator=g, dtype=torch.float64) for _ in range(2))
    assert info_nce(q, k, None, temperature).item() == pytest.approx(
        ref_info_nce(q, k, None, temperature), abs=1e-5)


@pytest.mark.parametrize('temperature', [0.1, 0.5, 2.0])
def test_nt_xent_matches_loop_with_2n_minus_2_negatives(temperature):
    g = torch.Generator().manual_seed(2)
    z1, z2 = (torch.randn(5, 8, generator=g, dtype=torch.float64) for _ in range(2))
    assert nt_xent(z1, z2, temperature).item() == pytest.approx(
        ref_nt_xent(z1, z2, temperature), abs=1e-5)


def test_losses_are_scale_invariant_and_float32_close():
    g = torch.Generator().manual_seed(3)
    z1, z2 = torch.randn(9, 32, generator=g), torch.randn(9, 32, generator=g)
    assert nt_xent(3 * z1, 0.1 * z2).item() == pytest.approx(nt_xent(z1, z2).item(), abs=1e-5)
    assert nt_xent(z1, z2).item() == pytest.approx(
        ref_nt_xent(z1.double(), z2.double(), 0.5), abs=1e-5)


def test_gradients_pass_gradcheck():
    g = torch.Generator().manual_seed(4)
    q, k, neg = (torch.randn(n, 6, generator=g, dtype=torch.float64, requires_grad=True)
                 for n in (4, 4, 5))
    assert torch.autograd.gradcheck(lambda a, b, c: info_nce(a, b, c, 0.2), (q, k, neg))
    assert torch.autograd.gradcheck(lambda a, b: info_nce(a, b, None, 0.2), (q, k))
    assert torch.autograd.gradcheck(lambda a, b: nt_xent(a, b, 0.5), (q, k))


def test_perfect_alignment_gives_low_loss_and_random_gives_log_n():
    eye = torch.eye(8, dtype=torch.float64)
    assert info_nce(eye, eye, None, 0.01).item() < 1e-6
    # orthogonal keys at T=1: every logit except the positive is 0 -> loss = log(1 + 7/e)
    assert info_nce(eye, eye, None, 1.0).item() == pytest.approx(math.log(1 + 7 / math.e))


def test_normalized_mse_is_two_minus_two_cosine_and_stops_target_gradient():
    g = torch.Generator().manual_seed(5)
    p = torch.randn(6, 10, generator=g, dtype=torch.float64, requires_grad=True)
    z = torch.randn(6, 10, generator=g, dtype=torch.float64, requires_grad=True)
    ref = sum(2 - 2 * dot(unit(a), unit(b)) for a, b in zip(p.tolist(), z.tolist())) / 6
    loss = normalized_mse(p, z)
    assert loss.item() == pytest.approx(ref, abs=1e-10)
    loss.backward()
    assert p.grad.abs().sum() > 0 and z.grad is None
