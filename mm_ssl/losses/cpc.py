"""CPC's InfoNCE over a grid of patch codes."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mm_ssl.registry import MODELS


def cpc_info_nce(predictions: list[torch.Tensor], codes: torch.Tensor, steps: list[int],
                 temperature: float | None = None) -> torch.Tensor:
    r"""CPC's loss on images (van den Oord et al. 2018 §3; Hénaff et al. 2020, "CPC v2", eq. 1-3):
    the context at grid row i, column j predicts the code k rows below,
    :math:`\hat z_{i+k,j} = W_k c_{i,j}`, and must pick it among every patch code of the batch:

    .. math::
        \mathcal{L} = \frac{1}{|K|}\sum_{k \in K} -\frac{1}{N_k}\sum_{b,i,j}
        \log \frac{\exp(\hat z_{b,i+k,j}^\top z_{b,i+k,j})}
        {\sum_{b',i',j'} \exp(\hat z_{b,i+k,j}^\top z_{b',i',j'})}

    with :math:`N_k = B (H - k) W`. Scores are dot products, as in CPC, or with a
    ``temperature`` cosine similarities over it: raw dot products let the feature norms, and
    with them the gradients, grow without bound at SimCLR-like learning rates.

    Shape:
        - predictions: one (B, D, H, W) tensor per step in ``steps``; entry (b, :, i, j) predicts
          the code at (i + k, j); rows i >= H - k have no target and are ignored.
        - codes: (B, D, H, W), the patch encoder's codes :math:`z`.
        - output: scalar.

    Example:
        >>> codes = torch.randn(4, 64, 7, 7)
        >>> loss = cpc_info_nce([torch.randn(4, 64, 7, 7) for _ in range(3)], codes, [2, 3, 4])
    """
    b, d, h, w = codes.shape
    if max(steps) >= h:
        raise ValueError(f'cpc_info_nce: step {max(steps)} needs more than {h} grid rows')
    if temperature is not None:
        codes = F.normalize(codes, dim=1)
        predictions = [F.normalize(p, dim=1) / temperature for p in predictions]
    candidates = codes.permute(0, 2, 3, 1).reshape(-1, d)                  # (B*H*W, D)
    index = torch.arange(b * h * w, device=codes.device).view(b, h, w)
    total = 0.0
    for k, pred in zip(steps, predictions):
        query = pred[:, :, :h - k].permute(0, 2, 3, 1).reshape(-1, d)       # (B*(H-k)*W, D)
        logits = torch.einsum('nd,md->nm', query, candidates)                # (N_k, B*H*W)
        total = total + F.cross_entropy(logits, index[:, k:].reshape(-1))
    return total / len(steps)


@MODELS.register_module()
class CPCLoss(nn.Module):
    """Module form of :func:`cpc_info_nce`: ``dict(type='CPCLoss', temperature=0.1)``."""

    def __init__(self, temperature: float | None = None):
        super().__init__()
        self.temperature = temperature

    def forward(self, predictions, codes, steps):
        return cpc_info_nce(predictions, codes, steps, self.temperature)
