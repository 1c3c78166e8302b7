"""Losses of the temporal pretext tasks: time-contrastive frames and TaCo's multi-task sum."""
import torch
import torch.nn.functional as F


def time_contrastive_nce(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                         temperature: float = 0.1) -> torch.Tensor:
    r"""Time-contrastive InfoNCE (single-view TCN, Sermanet et al. 2018, in the InfoNCE form of
    van den Oord et al. 2018): a frame within :math:`\pm r` of the anchor is its positive; the
    frames beyond the gap g of the same video and every frame of the other videos are negatives.

    .. math::
        \mathcal{L} = -\frac{1}{B}\sum_i \log \frac{\exp(a_i \cdot p_i / \tau)}
        {\sum_j \exp(a_i \cdot p_j / \tau) + \sum_{j, m} \exp(a_i \cdot n_{j,m} / \tau)}

    with every vector L2-normalised.

    Shape:
        - anchor, positive: (B, D), row i from video i; negative: (B, M, D), M far frames of
          video i.
        - output: scalar.

    Example:
        >>> a, p, n = torch.randn(8, 64), torch.randn(8, 64), torch.randn(8, 2, 64)
        >>> loss = time_contrastive_nce(a, p, n, temperature=0.1)
    """
    a = F.normalize(anchor, dim=1)
    candidates = F.normalize(torch.cat([positive, negative.flatten(0, 1)]), dim=1)  # (B + BM, D)
    logits = torch.einsum('bd,nd->bn', a, candidates) / temperature                 # (B, B + BM)
    return F.cross_entropy(logits, torch.arange(len(a), device=a.device))


def time_contrastive_triplet(anchor: torch.Tensor, positive: torch.Tensor,
                             negative: torch.Tensor, margin: float = 0.2) -> torch.Tensor:
    r"""TCN's triplet loss (Sermanet et al. 2018, eq. 1) on L2-normalised embeddings, with the
    anchor's M far frames of the same video as negatives:

    .. math::
        \mathcal{L} = \frac{1}{BM}\sum_{i,m} \max\left(0,\; \|a_i - p_i\|_2^2
        - \|a_i - n_{i,m}\|_2^2 + \alpha\right)

    Shape:
        - anchor, positive: (B, D); negative: (B, M, D).
        - output: scalar.

    Example:
        >>> loss = time_contrastive_triplet(torch.randn(8, 64), torch.randn(8, 64),
        ...                                 torch.randn(8, 2, 64), margin=0.2)
    """
    a, p, n = (F.normalize(x, dim=-1) for x in (anchor, positive, negative))
    d_pos = (a - p).pow(2).sum(-1)                                   # (B,)
    d_neg = (a[:, None] - n).pow(2).sum(-1)                          # (B, M)
    return (d_pos[:, None] - d_neg + margin).clamp(min=0).mean()


def taco_loss(contrastive: dict[str, torch.Tensor], task_logits: dict[str, torch.Tensor],
              task_labels: dict[str, torch.Tensor],
              task_weights: dict[str, float]) -> dict[str, torch.Tensor]:
    r"""TaCo's objective (Bai et al. 2020, eq. 5): for each temporal transformation t, the
    contrastive loss between the original and the transformed clip plus the weighted
    cross-entropy of its task head (which transformation was applied):

    .. math::
        \mathcal{L} = \sum_t \left( \mathcal{L}^{t}_{con} + \lambda_t \mathcal{L}^{t}_{task} \right)

    Shape:
        - contrastive: {t: scalar}; task_logits: {t: (B, K_t)}; task_labels: {t: (B,)} int64.
        - task_weights: {t: float}.
        - output: ``loss`` (the sum) and, detached for logging, its parts ``con_<t>``,
          ``task_<t>`` and the task accuracy ``acc_<t>`` (%). (mmengine sums every key that
          contains "loss", so the parts must not.)
    """
    out, total = {}, 0
    for t, logits in task_logits.items():
        task = F.cross_entropy(logits, task_labels[t])
        total = total + contrastive[t] + task_weights[t] * task
        out[f'con_{t}'], out[f'task_{t}'] = contrastive[t].detach(), task.detach()
        out[f'acc_{t}'] = (logits.argmax(1) == task_labels[t]).float().mean().detach() * 100
    out['loss'] = total
    return out
