"""Losses of methods without negatives: the target comes from a stop-gradient or EMA branch."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mm_ssl.registry import MODELS


def normalized_mse(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    r"""BYOL's regression loss (Grill et al. 2020, eq. 2), equal to 2 - 2 cos:

    .. math::
        \mathcal{L} = \left\| \bar{p} - \bar{z}' \right\|_2^2
        = 2 - 2 \frac{\langle p, z' \rangle}{\|p\|_2 \|z'\|_2}

    The target is detached here: it comes from the momentum network and must get no gradient.

    Shape:
        - prediction, target: (N, D).
        - output: scalar, mean over N.

    Example:
        >>> loss = normalized_mse(torch.randn(8, 256), torch.randn(8, 256))
    """
    p, z = F.normalize(prediction, dim=1), F.normalize(target.detach(), dim=1)
    return (2 - 2 * (p * z).sum(dim=1)).mean()


@MODELS.register_module()
class NormalizedMSELoss(nn.Module):
    """Module form of :func:`normalized_mse`: ``dict(type='NormalizedMSELoss')``."""

    def forward(self, prediction, target):
        return normalized_mse(prediction, target)
