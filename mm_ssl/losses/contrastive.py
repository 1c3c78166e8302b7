"""The InfoNCE family, shared by every modality (image, point, pixel, clip embeddings)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mm_ssl.ops.dist import gather_with_grad, row_counts, world_info
from mm_ssl.registry import MODELS


def info_nce(query: torch.Tensor, key: torch.Tensor, negatives: torch.Tensor | None = None,
             temperature: float = 0.07, gather_distributed: bool = True) -> torch.Tensor:
    r"""InfoNCE (van den Oord et al. 2018; MoCo, He et al. 2020):

    .. math::
        \mathcal{L} = -\frac{1}{N}\sum_i \log
        \frac{\exp(q_i \cdot k_i / \tau)}
             {\exp(q_i \cdot k_i / \tau) + \sum_{n} \exp(q_i \cdot n / \tau)}

    with every vector L2-normalised. The negatives ``n`` are ``negatives`` (a queue or memory
    bank) when given, else the other keys of the batch — of all ranks when distributed.

    Shape:
        - query: (N, D); key: (N, D), row i is the positive of query i.
        - negatives: (M, D) or None.
        - output: scalar, the mean cross-entropy (over the global batch, times the world size,
          when the keys are gathered).

    Example:
        >>> q, k, queue = torch.randn(8, 128), torch.randn(8, 128), torch.randn(4096, 128)
        >>> loss = info_nce(q, k, queue, temperature=0.2)
    """
    query, key = F.normalize(query, dim=1), F.normalize(key, dim=1)
    if negatives is not None:
        negatives = F.normalize(negatives, dim=1)
        pos = torch.einsum('nd,nd->n', query, key).unsqueeze(1)       # (N, 1)
        neg = torch.einsum('nd,md->nm', query, negatives)               # (N, M)
        logits = torch.cat([pos, neg], dim=1) / temperature             # (N, 1+M)
        target = torch.zeros(len(query), dtype=torch.long, device=query.device)
        return F.cross_entropy(logits, target)
    rank, world = world_info() if gather_distributed else (0, 1)
    counts = row_counts(len(query), query.device) if world > 1 else [len(query)]
    keys = gather_with_grad(key, counts) if world > 1 else key          # (sum N_r, D)
    logits = torch.einsum('nd,md->nm', query, keys) / temperature       # (N, sum N_r)
    target = torch.arange(len(query), device=query.device) + sum(counts[:rank])
    # the global mean times W: DDP's average of the rank losses (and gradients) is then the
    # loss of the global batch even when ranks hold different numbers of queries (SimIPU)
    return F.cross_entropy(logits, target, reduction='sum') * world / sum(counts)


def pair_logits(z1: torch.Tensor, z2: torch.Tensor, temperature: float,
                gather_distributed: bool = True, negatives: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Similarity logits of the 2N local anchors of a two-view batch, shared by NT-Xent and its
    variants (DCL, hard negatives, InvaSpread).

    Columns are the 2T samples of all ranks (T = the ranks' N summed; view 1 of every rank, then
    view 2), then the rows
    of ``negatives`` (a memory of past embeddings) if given. Every vector is L2-normalised; the
    anchor's own column is ``-inf``.

    Shape:
        - z1, z2: (N, D), row i of both are two views of sample i.
        - negatives: (M, D) or None.
        - output: logits (2N, 2T + M) and the column of each anchor's positive (2N,).
    """
    n = len(z1)
    rank, world = world_info() if gather_distributed else (0, 1)
    counts = row_counts(n, z1.device) if world > 1 else [n]
    total = sum(counts)
    z = F.normalize(torch.cat([z1, z2]), dim=1)                         # (2N, D) local anchors
    z1_all = gather_with_grad(z[:n], counts) if world > 1 else z[:n]    # (T, D), T = sum N_r
    z2_all = gather_with_grad(z[n:], counts) if world > 1 else z[n:]
    candidates = torch.cat([z1_all, z2_all])                            # (2T, D)
    if negatives is not None:
        candidates = torch.cat([candidates, F.normalize(negatives, dim=1)])   # (2T+M, D)
    logits = torch.einsum('nd,md->nm', z, candidates) / temperature     # (2N, 2T+M)
    local = torch.arange(n, device=z.device) + sum(counts[:rank])       # global index of z1 rows
    self_col = torch.cat([local, local + total])
    pos_col = torch.cat([local + total, local])
    logits[torch.arange(2 * n, device=z.device), self_col] = float('-inf')
    return logits, pos_col


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5,
            gather_distributed: bool = True, negatives: torch.Tensor | None = None
            ) -> torch.Tensor:
    r"""NT-Xent, SimCLR's symmetric loss (Chen et al. 2020, eq. 1):

    .. math::
        \ell_{i,j} = -\log \frac{\exp(\mathrm{sim}(z_i, z_j)/\tau)}
        {\sum_{k=1}^{2N} \mathbb{1}_{[k \ne i]} \exp(\mathrm{sim}(z_i, z_k)/\tau)}

    averaged over all 2N anchors: each of the 2N samples has its other view as positive and the
    remaining 2N-2 samples (2WN-2 over W ranks) as negatives. ``sim`` is cosine similarity.
    ``negatives`` (a memory of past embeddings, SimCLR v2 §2) are added to every denominator.

    Shape:
        - z1, z2: (N, D), row i of both are two views of sample i.
        - negatives: (M, D) or None.
        - output: scalar.

    Example:
        >>> loss = nt_xent(torch.randn(256, 128), torch.randn(256, 128), temperature=0.5)
    """
    logits, pos_col = pair_logits(z1, z2, temperature, gather_distributed, negatives)
    return F.cross_entropy(logits, pos_col)


@MODELS.register_module()
class InfoNCELoss(nn.Module):
    """Module form of :func:`info_nce` for configs:
    ``dict(type='InfoNCELoss', temperature=0.2)``."""

    def __init__(self, temperature: float = 0.07, gather_distributed: bool = True):
        super().__init__()
        self.temperature, self.gather_distributed = temperature, gather_distributed

    def forward(self, query, key, negatives=None):
        return info_nce(query, key, negatives, self.temperature, self.gather_distributed)


@MODELS.register_module()
class NTXentLoss(nn.Module):
    """Module form of :func:`nt_xent` for configs: ``dict(type='NTXentLoss', temperature=0.5)``."""

    def __init__(self, temperature: float = 0.5, gather_distributed: bool = True):
        super().__init__()
        self.temperature, self.gather_distributed = temperature, gather_distributed

    def forward(self, z1, z2, negatives=None):
        return nt_xent(z1, z2, self.temperature, self.gather_distributed, negatives)
