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


def negative_cosine(prediction: torch.Tensor, target: torch.Tensor,
                    stop_gradient: bool = True) -> torch.Tensor:
    r"""SimSiam's loss term (Chen & He 2021, "Exploring Simple Siamese Representation Learning",
    eq. 1 and 3): the negative cosine similarity of a prediction and a stop-gradient target,

    .. math::
        \mathcal{D}(p, z) = -\frac{p}{\|p\|_2} \cdot \frac{\mathrm{stopgrad}(z)}{\|z\|_2}

    ``stop_gradient=False`` lets the gradient flow into the target too: SimSiam then collapses to
    a constant output (the paper's fig. 2); it exists to demonstrate that collapse.

    Shape:
        - prediction, target: (N, D).
        - output: scalar, mean over N, in [-1, 1].

    Example:
        >>> loss = negative_cosine(torch.randn(8, 2048), torch.randn(8, 2048))
    """
    target = target.detach() if stop_gradient else target
    return -F.cosine_similarity(prediction, target, dim=1).mean()


@MODELS.register_module()
class NegativeCosineLoss(nn.Module):
    """Module form of :func:`negative_cosine`: ``dict(type='NegativeCosineLoss')``."""

    def __init__(self, stop_gradient: bool = True):
        super().__init__()
        self.stop_gradient = stop_gradient

    def forward(self, prediction, target):
        return negative_cosine(prediction, target, self.stop_gradient)
