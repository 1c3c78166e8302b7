"""Representation-health metrics: is a representation using its dimensions, or collapsing?

Complete collapse (every input maps to one vector) and dimensional collapse (the vectors span a
low-dimensional subspace, Jing et al. 2022) both show as a small effective rank and a spectrum of
singular values that falls off a cliff; complete collapse also drives the per-dimension std of
L2-normalised embeddings to 0 (SimSiam, Chen & He 2021, fig. 2), healthy ones sit near 1/sqrt(d).
"""
import torch
import torch.nn.functional as F


def singular_values(x: torch.Tensor) -> torch.Tensor:
    """Singular values of the (N, D) matrix ``x``, descending, computed in float64: (min(N, D),)."""
    return torch.linalg.svdvals(x.double())


def effective_rank(x: torch.Tensor, eps: float = 1e-7) -> float:
    r"""RankMe (Garrido et al. 2023, "RankMe: Assessing the downstream performance of pretrained
    self-supervised representations by their rank", eq. 1): the exponential of the entropy of the
    singular values normalised to sum to one,

    .. math::
        \mathrm{RankMe}(Z) = \exp\Big(-\sum_k p_k \log p_k\Big),
        \qquad p_k = \frac{\sigma_k(Z)}{\|\sigma(Z)\|_1} + \epsilon

    1 for a rank-one matrix, min(N, D) for one with equal singular values. ``x`` is not centred,
    as in the paper.

    Shape:
        - x: (N, D); output: a float.

    Example:
        >>> effective_rank(torch.randn(512, 128))   # close to 128
    """
    s = singular_values(x)
    p = s / s.sum() + eps
    return float(torch.exp(-(p * p.log()).sum()))


def normalized_std(z: torch.Tensor) -> float:
    """Mean over dimensions of the std (over samples) of the L2-normalised rows of ``z`` (N, d):
    0 at complete collapse, about 1/sqrt(d) for embeddings spread over the sphere."""
    return float(F.normalize(z, dim=1).std(dim=0).mean())


def alignment(z1: torch.Tensor, z2: torch.Tensor, alpha: float = 2.0) -> float:
    r"""Alignment (Wang & Isola 2020, eq. 3) of positive pairs, rows of ``z1`` and ``z2`` (N, d):
    :math:`\mathbb{E}\,\|f(x) - f(y)\|_2^\alpha` on L2-normalised embeddings; lower is better."""
    return float((F.normalize(z1, dim=1) - F.normalize(z2, dim=1)).norm(dim=1).pow(alpha).mean())


def uniformity(z: torch.Tensor, t: float = 2.0) -> float:
    r"""Uniformity (Wang & Isola 2020, eq. 4) of the rows of ``z`` (N, d):
    :math:`\log \mathbb{E}_{i<j}\, e^{-t \|f(x_i) - f(x_j)\|_2^2}` on L2-normalised embeddings;
    lower (more negative) is more uniform, 0 at complete collapse."""
    return float(torch.pdist(F.normalize(z.double(), dim=1)).pow(2).mul(-t).exp().mean().log())
