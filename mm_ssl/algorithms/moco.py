import torch
import torch.nn as nn

from mm_ssl.models.memory import KeyQueue
from mm_ssl.models.momentum import MomentumTarget, cosine_momentum, training_progress
from mm_ssl.registry import MODELS

from .base import BaseSSL


@MODELS.register_module()
class MoCo(BaseSSL):
    """MoCo v2 (Chen et al. 2020, "Improved baselines"; v1: He et al. 2020 with a linear neck).

    Queries come from encoder + projector, keys from their momentum copy; the positive of a query
    is the key of the other view, negatives are the queue of past keys. ``symmetric`` adds the
    loss with the views swapped (as in MoCo's CIFAR demo).
    Distributed, every rank enqueues the keys of all ranks, so the queues stay identical.
    Not done: MoCo's shuffle-BN (it hides the batch from BatchNorm so the key encoder cannot
    cheat through batch statistics); with ``sync_bn = 'torch'`` both encoders use the global
    batch's statistics, as one process with that batch would.
    """

    def __init__(self, encoder: dict, neck: dict, queue_size: int = 65536,
                 momentum: float = 0.999, cosine_schedule: bool = False, symmetric: bool = False,
                 loss: dict = dict(type='InfoNCELoss', temperature=0.2), **kwargs):
        super().__init__(encoder, **kwargs)
        self.projector = self.build_mlp(neck, self.encoder.feat_dim)
        self.target = MomentumTarget(*self.online_network())
        self.queue = KeyQueue(queue_size, self.projector.out_dim)
        self.criterion = MODELS.build(loss)
        self.momentum, self.cosine_schedule, self.symmetric = momentum, cosine_schedule, symmetric

    def compute_loss(self, views):
        b = len(views[0])
        pair = torch.cat(views[:2])
        h = self.encoder(pair)                                          # (2B, D)
        q1, q2 = self.projector(h).chunk(2)                             # (B, d) each
        self.update_target()
        k1, k2 = self.target(pair).chunk(2)                             # (B, d), no gradient
        return dict(loss=self.contrast(q1, k2, q2, k1)), h[:b]

    def online_network(self) -> tuple[nn.Module, ...]:
        """The modules taking an input to its embedding, in order; ``self.target`` is their
        momentum copy."""
        return self.encoder, self.projector

    def update_target(self) -> None:
        """One momentum step of the key network towards the online one (before the keys)."""
        m = cosine_momentum(self.momentum, training_progress()) if self.cosine_schedule \
            else self.momentum
        self.target.update(*self.online_network(), momentum=m)

    def contrast(self, q1: torch.Tensor, k2: torch.Tensor, q2: torch.Tensor | None = None,
                 k1: torch.Tensor | None = None) -> torch.Tensor:
        """The loss of queries ``q1`` against their keys ``k2`` of the other view with the
        queue as negatives (averaged with ``q2`` against ``k1`` when ``symmetric``); then the
        keys are queued. Shape: each (B, d); returns a scalar."""
        negatives = self.queue.negatives().clone()                      # (K, d), before push
        loss = self.criterion(q1, k2, negatives)
        if self.symmetric:
            loss = (loss + self.criterion(q2, k1, negatives)) / 2
        # one push per view: the queue then holds the global batch's keys in the same order as
        # one process with that batch would (it matters once the queue wraps around)
        self.queue.push(k2)
        if self.symmetric:
            self.queue.push(k1)
        return loss
