import torch
import torch.nn as nn

from mm_ssl.errors import ConfigError
from mm_ssl.models.heads import LinearClsHead
from mm_ssl.models.memory import KeyQueue
from mm_ssl.models.momentum import MomentumTarget
from mm_ssl.registry import MODELS

from .simclr import SimCLR


@MODELS.register_module()
class SimCLRv2(SimCLR):
    """SimCLR v2 (Chen et al. 2020, "Big Self-Supervised Models are Strong Semi-Supervised
    Learners", §2): SimCLR with a deeper projection head (3 layers, BN after each), of which the
    first ``keep_head_layers`` layers belong to the representation: ``forward(mode='tensor')``,
    the online probe and fine-tuning start from their output, not from the encoder's.

    ``queue_size > 0`` adds the paper's memory: a momentum copy of encoder + projector embeds both
    views into a queue whose entries are extra negatives in every denominator of the loss
    (``NTXentLoss``, ``DCLLoss`` and ``HardNegativeNTXentLoss`` take them).
    """

    def __init__(self, encoder: dict, neck: dict, loss: dict = dict(type='NTXentLoss'),
                 keep_head_layers: int = 1, queue_size: int = 0, momentum: float = 0.999,
                 **kwargs):
        super().__init__(encoder, neck, loss, **kwargs)
        hidden_layers = sum(isinstance(m, nn.ReLU) for m in self.projector)
        if not 0 <= keep_head_layers <= hidden_layers:
            raise ConfigError(f'SimCLRv2: keep_head_layers must be in [0, {hidden_layers}] (the '
                              f'hidden layers of the neck), got {keep_head_layers}')
        self.keep_head_layers = keep_head_layers
        if self.probe is not None and keep_head_layers:   # the probe reads the kept layers
            kept_dim = self.head_parts()[0][-3].out_features
            self.probe = LinearClsHead(kept_dim, self.probe.fc.out_features)
        self.momentum = momentum
        self.target = MomentumTarget(self.encoder, self.projector) if queue_size else None
        self.queue = KeyQueue(queue_size, self.projector.out_dim) if queue_size else None

    def head_parts(self):
        """The kept first layers of the projector and the rest (slices share the weights)."""
        layers = list(self.projector)      # the MLP neck: (Linear, BN, ReLU) per hidden layer
        cut = 3 * self.keep_head_layers
        return nn.Sequential(*layers[:cut]), nn.Sequential(*layers[cut:])

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'tensor':
            return self.head_parts()[0](self.encoder(inputs))
        return super().forward(inputs, data_samples, mode)

    def compute_loss(self, views):
        b = len(views[0])
        pair = torch.cat(views[:2])
        kept_head, rest_of_head = self.head_parts()
        kept = kept_head(self.encoder(pair))                            # (2B, hidden)
        z1, z2 = rest_of_head(kept).chunk(2)                            # (B, d) each
        if self.queue is None:
            return dict(loss=self.criterion(z1, z2)), kept[:b]
        self.target.update(self.encoder, self.projector, momentum=self.momentum)
        keys = self.target(pair)                                        # (2B, d), no gradient
        loss = self.criterion(z1, z2, self.queue.negatives().clone())
        self.queue.push(keys)
        return dict(loss=loss), kept[:b]
