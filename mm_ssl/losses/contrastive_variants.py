"""Variants of the two-view contrastive objective from the design notes: decoupled (DCL / DCW),
hard-negative, InvaSpread, alignment + uniformity, DirectCLR and triplet losses.

Each takes the two views ``(z1, z2)`` of a batch, so SimCLR's ``loss`` option selects any of them.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from mm_ssl.errors import ConfigError
from mm_ssl.registry import MODELS

from .contrastive import nt_xent, pair_logits


def _split_positive(logits: torch.Tensor, pos_col: torch.Tensor):
    """The positive logit of each anchor (2N,) and the logits with the positive masked too."""
    rows = torch.arange(len(logits), device=logits.device)
    negatives = logits.clone()
    negatives[rows, pos_col] = float('-inf')
    return logits[rows, pos_col], negatives


def dcl(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.1,
        vmf_sigma: float | None = None, gather_distributed: bool = True,
        negatives: torch.Tensor | None = None) -> torch.Tensor:
    r"""Decoupled contrastive loss (Yeh et al. 2022, "Decoupled Contrastive Learning", eq. 6):
    NT-Xent with the positive removed from the denominator,

    .. math::
        L^{(k)}_{i} = -w_i \langle z^{(1)}_i, z^{(2)}_i \rangle / \tau
        + \log \sum_{l \in \{1,2\},\, j \ne i} \exp(\langle z^{(k)}_i, z^{(l)}_j \rangle / \tau)

    averaged over i and both views k. With ``vmf_sigma`` set this is DCW, the von Mises-Fisher
    weighting :math:`w_i = 2 - \exp(\langle z^{(1)}_i, z^{(2)}_i\rangle/\sigma)
    / \mathbb{E}_j[\exp(\langle z^{(1)}_j, z^{(2)}_j\rangle/\sigma)]` (mean over the local batch),
    which up-weights hard positive pairs; without it :math:`w_i = 1` (DCL).

    Shape:
        - z1, z2: (N, D), row i of both are two views of sample i.
        - negatives: (M, D) or None, extra negatives (a memory bank / queue).
        - output: scalar.

    Example:
        >>> loss = dcl(torch.randn(64, 128), torch.randn(64, 128), vmf_sigma=0.5)   # DCW
    """
    logits, pos_col = pair_logits(z1, z2, temperature, gather_distributed, negatives)
    pos, neg = _split_positive(logits, pos_col)                         # (2N,), (2N, 2WN+M)
    if vmf_sigma is not None:
        cos = (F.normalize(z1, dim=1) * F.normalize(z2, dim=1)).sum(1)  # (N,)
        weight = 2 - len(cos) * F.softmax(cos / vmf_sigma, dim=0)
        pos = pos * weight.repeat(2)
    return (torch.logsumexp(neg, dim=1) - pos).mean()


def hard_negative_nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5,
                          quantile: float = 0.5, gather_distributed: bool = True,
                          negatives: torch.Tensor | None = None) -> torch.Tensor:
    r"""NT-Xent over hard negatives only (Wang & Liu 2021, "Understanding the Behaviour of
    Contrastive Loss", eq. 10):

    .. math::
        \mathcal{L}_{hard}(x_i) = -\log \frac{\exp(s_{i,i}/\tau)}
        {\sum_{s_{i,k} \ge s^{(i)}_{\alpha}} \exp(s_{i,k}/\tau) + \exp(s_{i,i}/\tau)}

    where :math:`s^{(i)}_\alpha` is the ``quantile`` (α) of anchor i's negative similarities
    (``torch.quantile``'s linear interpolation), so the easiest fraction α of negatives is
    dropped; α = 0 is plain NT-Xent. The threshold carries no gradient.

    Shape:
        - z1, z2: (N, D), row i of both are two views of sample i.
        - negatives: (M, D) or None, extra negatives (a memory bank / queue).
        - output: scalar.

    Example:
        >>> loss = hard_negative_nt_xent(torch.randn(64, 128), torch.randn(64, 128), quantile=0.9)
    """
    if not 0 <= quantile < 1:
        raise ConfigError(f'hard_negative_nt_xent: quantile must be in [0, 1), got {quantile}')
    logits, pos_col = pair_logits(z1, z2, temperature, gather_distributed, negatives)
    pos, neg = _split_positive(logits, pos_col)
    neg = neg[torch.isfinite(neg)].view(len(neg), -1)                   # (2N, 2WN-2+M)
    threshold = torch.quantile(neg.detach(), quantile, dim=1, keepdim=True)
    neg = neg.masked_fill(neg < threshold, float('-inf'))
    logits = torch.cat([pos.unsqueeze(1), neg], dim=1)                  # positive in column 0
    return F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long,
                                               device=logits.device))


def invaspread(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.1,
               gather_distributed: bool = True) -> torch.Tensor:
    r"""Invariant and spreading instance loss (Ye et al. 2019, "Unsupervised Embedding Learning
    via Invariant and Spreading Instance Feature", eqs. 2-5), over the 2N samples of a two-view
    batch as in the authors' batch criterion: with
    :math:`P(k \mid a) = \exp(z_k^\top z_a/\tau) / \sum_{l \ne a} \exp(z_l^\top z_a/\tau)`,

    .. math::
        \mathcal{L} = -\frac{1}{2N}\sum_a \Big[\log P(\hat a \mid a)
        + \sum_{k \ne a, \hat a} \log\big(1 - P(k \mid a)\big)\Big]

    where :math:`\hat a` is the augmented copy of sample a: the copy is the positive, every other
    sample and its copy are negatives, each pushed away by its own binary term.

    Shape:
        - z1, z2: (N, D), row i of both are two views of sample i.
        - output: scalar.

    Example:
        >>> loss = invaspread(torch.randn(64, 128), torch.randn(64, 128))
    """
    logits, pos_col = pair_logits(z1, z2, temperature, gather_distributed)
    log_p = F.log_softmax(logits, dim=1)                                # (2N, 2WN)
    log_p_pos, log_p_neg = _split_positive(log_p, pos_col)              # self, positive: -inf
    spread = -torch.log1p(-log_p_neg.exp()).sum(1)                      # log(1 - 0) = 0 there
    return (spread - log_p_pos).mean()


def alignment(x: torch.Tensor, y: torch.Tensor, alpha: float = 2.0) -> torch.Tensor:
    r"""Alignment (Wang & Isola 2020, "Understanding Contrastive Representation Learning through
    Alignment and Uniformity on the Hypersphere", eq. 4) of L2-normalised positive pairs:

    .. math::
        \mathcal{L}_{align}(f; \alpha) = \mathbb{E}_{(x, y) \sim p_{pos}}
        \left[\| f(x) - f(y) \|_2^\alpha\right]

    Shape:
        - x, y: (N, D), row i of both are a positive pair.
        - output: scalar.

    Example:
        >>> alignment(torch.randn(64, 128), torch.randn(64, 128))
    """
    return (F.normalize(x, dim=1) - F.normalize(y, dim=1)).norm(dim=1).pow(alpha).mean()


def uniformity(x: torch.Tensor, t: float = 2.0) -> torch.Tensor:
    r"""Uniformity (Wang & Isola 2020, eq. 5) of L2-normalised embeddings, over the N(N-1)/2
    distinct pairs of the batch:

    .. math::
        \mathcal{L}_{uniform}(f; t) = \log \mathbb{E}_{x, y \sim p_{data}}
        \left[e^{-t \| f(x) - f(y) \|_2^2}\right]

    Shape:
        - x: (N, D), N >= 2.
        - output: scalar, in [-4t, 0]; lower is more uniform.

    Example:
        >>> uniformity(torch.randn(64, 128))
    """
    sq_dist = torch.pdist(F.normalize(x, dim=1)).pow(2)                 # (N(N-1)/2,)
    return torch.logsumexp(-t * sq_dist, dim=0) - math.log(len(sq_dist))


def align_uniform(z1: torch.Tensor, z2: torch.Tensor, alpha: float = 2.0, t: float = 2.0,
                  uniformity_weight: float = 1.0) -> torch.Tensor:
    r"""Wang & Isola's training objective (§5):
    :math:`\mathcal{L}_{align}(z_1, z_2; \alpha) + \lambda \tfrac{1}{2}
    (\mathcal{L}_{uniform}(z_1; t) + \mathcal{L}_{uniform}(z_2; t))`.

    Shape:
        - z1, z2: (N, D), row i of both are two views of sample i.
        - output: scalar.
    """
    uniform = (uniformity(z1, t) + uniformity(z2, t)) / 2
    return alignment(z1, z2, alpha) + uniformity_weight * uniform


def directclr(h1: torch.Tensor, h2: torch.Tensor, dim: int, temperature: float = 0.1,
              gather_distributed: bool = True) -> torch.Tensor:
    r"""DirectCLR (Jing et al. 2022, "Understanding Dimensional Collapse in Contrastive
    Self-supervised Learning", §6): no projector; InfoNCE (NT-Xent) on the fixed sub-vector
    :math:`z = r[0{:}d_0]` of the representation r,

    .. math::
        \mathcal{L} = \mathrm{NT\text{-}Xent}(r^{(1)}[0{:}d_0],\ r^{(2)}[0{:}d_0])

    The gradient reaches only the first ``dim`` dimensions directly; the rest of the
    representation is trained through the shared encoder weights.

    Shape:
        - h1, h2: (N, D) representations (encoder outputs), D >= dim.
        - output: scalar.

    Example:
        >>> loss = directclr(torch.randn(64, 512), torch.randn(64, 512), dim=128)
    """
    if not 0 < dim <= h1.shape[1]:
        raise ConfigError(f'directclr: dim must be in [1, {h1.shape[1]}] (the representation '
                          f'width), got {dim}')
    return nt_xent(h1[:, :dim], h2[:, :dim], temperature, gather_distributed)


def triplet(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
            margin: float = 0.2) -> torch.Tensor:
    r"""Triplet loss (Schroff et al. 2015, "FaceNet", eq. 1) on L2-normalised embeddings:

    .. math::
        \mathcal{L} = \frac{1}{N}\sum_i \left[\|a_i - p_i\|_2^2 - \|a_i - n_i\|_2^2
        + \alpha\right]_+

    Shape:
        - anchor, positive, negative: (N, D).
        - output: scalar.

    Example:
        >>> loss = triplet(torch.randn(8, 16), torch.randn(8, 16), torch.randn(8, 16))
    """
    a, p, n = (F.normalize(v, dim=1) for v in (anchor, positive, negative))
    return F.relu((a - p).pow(2).sum(1) - (a - n).pow(2).sum(1) + margin).mean()


def batch_hard_triplet(z1: torch.Tensor, z2: torch.Tensor, margin: float = 0.2) -> torch.Tensor:
    r""":func:`triplet` on a two-view batch: anchor :math:`z^{(1)}_i`, positive its other view
    :math:`z^{(2)}_i`, negative the closest other sample of the other view,
    :math:`\arg\min_{j \ne i} \|z^{(1)}_i - z^{(2)}_j\|` (batch-hard mining, Hermans et al. 2017);
    symmetric in the two views.

    Shape:
        - z1, z2: (N, D), row i of both are two views of sample i; N >= 2.
        - output: scalar.
    """
    def hardest(a, b):                                                  # index into b per row of a
        sim = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T          # (N, N)
        return sim.fill_diagonal_(float('-inf')).argmax(1)

    with torch.no_grad():
        j12, j21 = hardest(z1, z2), hardest(z2, z1)
    return (triplet(z1, z2, z2[j12], margin) + triplet(z2, z1, z1[j21], margin)) / 2


@MODELS.register_module()
class DCLLoss(nn.Module):
    """Module form of :func:`dcl`: ``dict(type='DCLLoss', temperature=0.1, vmf_sigma=0.5)``
    (``vmf_sigma=None``: DCL, else DCW)."""

    def __init__(self, temperature: float = 0.1, vmf_sigma: float | None = None,
                 gather_distributed: bool = True):
        super().__init__()
        self.temperature, self.vmf_sigma = temperature, vmf_sigma
        self.gather_distributed = gather_distributed

    def forward(self, z1, z2, negatives=None):
        return dcl(z1, z2, self.temperature, self.vmf_sigma, self.gather_distributed, negatives)


@MODELS.register_module()
class HardNegativeNTXentLoss(nn.Module):
    """Module form of :func:`hard_negative_nt_xent`:
    ``dict(type='HardNegativeNTXentLoss', temperature=0.5, quantile=0.5)``."""

    def __init__(self, temperature: float = 0.5, quantile: float = 0.5,
                 gather_distributed: bool = True):
        super().__init__()
        self.temperature, self.quantile = temperature, quantile
        self.gather_distributed = gather_distributed

    def forward(self, z1, z2, negatives=None):
        return hard_negative_nt_xent(z1, z2, self.temperature, self.quantile,
                                     self.gather_distributed, negatives)


@MODELS.register_module()
class InvaSpreadLoss(nn.Module):
    """Module form of :func:`invaspread`: ``dict(type='InvaSpreadLoss', temperature=0.1)``."""

    def __init__(self, temperature: float = 0.1, gather_distributed: bool = True):
        super().__init__()
        self.temperature, self.gather_distributed = temperature, gather_distributed

    def forward(self, z1, z2):
        return invaspread(z1, z2, self.temperature, self.gather_distributed)


@MODELS.register_module()
class AlignUniformLoss(nn.Module):
    """Module form of :func:`align_uniform`:
    ``dict(type='AlignUniformLoss', alpha=2, t=2, uniformity_weight=1)``."""

    def __init__(self, alpha: float = 2.0, t: float = 2.0, uniformity_weight: float = 1.0):
        super().__init__()
        self.alpha, self.t, self.uniformity_weight = alpha, t, uniformity_weight

    def forward(self, z1, z2):
        return align_uniform(z1, z2, self.alpha, self.t, self.uniformity_weight)


@MODELS.register_module()
class DirectCLRLoss(nn.Module):
    """Module form of :func:`directclr`: ``dict(type='DirectCLRLoss', dim=128)``; used with
    ``SimCLR(neck=None)`` so it sees the encoder's representation."""

    def __init__(self, dim: int, temperature: float = 0.1, gather_distributed: bool = True):
        super().__init__()
        self.dim, self.temperature, self.gather_distributed = dim, temperature, gather_distributed

    def forward(self, h1, h2):
        return directclr(h1, h2, self.dim, self.temperature, self.gather_distributed)


@MODELS.register_module()
class TripletLoss(nn.Module):
    """Module form of :func:`batch_hard_triplet`: ``dict(type='TripletLoss', margin=0.2)``."""

    def __init__(self, margin: float = 0.2):
        super().__init__()
        self.margin = margin

    def forward(self, z1, z2):
        return batch_hard_triplet(z1, z2, self.margin)
