"""Momentum (EMA) target networks: MoCo's key encoder, BYOL's target network, DINO's teacher."""
import copy
import math

import torch
import torch.nn as nn
from mmengine.logging import MessageHub


def cosine_momentum(base: float, progress: float, final: float = 1.0) -> float:
    r"""BYOL's schedule (Grill et al. 2020, §3.2): :math:`m = m_1 - (m_1 - m_0)(\cos(\pi p) + 1)/2`
    for training progress :math:`p \in [0, 1]`, rising from ``base`` (:math:`m_0`) to ``final``."""
    return final - (final - base) * (math.cos(math.pi * progress) + 1) / 2


def training_progress() -> float:
    """Fraction of training done, read from mmengine's MessageHub (its RuntimeInfoHook records
    ``iter`` and ``max_iters``); 0 outside a runner."""
    hub = MessageHub.get_current_instance()
    it, total = hub.get_info('iter', 0), hub.get_info('max_iters', 0)
    return min(it / total, 1.0) if total else 0.0


class MomentumTarget(nn.Module):
    r"""A frozen copy of the ``online`` modules, chained, updated by
    :math:`\theta_t \leftarrow m\,\theta_t + (1-m)\,\theta_o`.

    Only parameters are averaged; buffers (BN running statistics) are the target's own, updated
    by its forward passes, as in MoCo's key encoder. The first update copies the online weights,
    so weights initialised or loaded after construction reach the target.

    Example:
        >>> target = MomentumTarget(encoder, projector)     # forward = projector(encoder(x))
        >>> target.update(encoder, projector, momentum=0.99)
        >>> z = target(x)                                   # no gradient
    """

    def __init__(self, *online: nn.Module):
        super().__init__()
        self.module = copy.deepcopy(nn.Sequential(*online)).requires_grad_(False)
        self.register_buffer('synced', torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def update(self, *online: nn.Module, momentum: float) -> None:
        target = list(self.module.parameters())
        source = [p.detach() for m in online for p in m.parameters()]
        torch._foreach_lerp_(target, source, 1.0 - momentum if self.synced else 1.0)
        self.synced.fill_(True)

    @torch.no_grad()
    def forward(self, x):
        return self.module(x)
