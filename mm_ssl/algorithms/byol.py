import torch

from mm_ssl.models.momentum import MomentumTarget, cosine_momentum, training_progress
from mm_ssl.registry import MODELS

from .base import BaseSSL


@MODELS.register_module()
class BYOL(BaseSSL):
    """BYOL (Grill et al. 2020): the online encoder + projector (neck) + predictor (head) regresses
    the target network's projection of the other view; the target is an EMA of the online encoder
    and projector with momentum rising from ``momentum`` to 1 on a cosine schedule. The loss is
    the mean of both view orders.
    """

    def __init__(self, encoder: dict, neck: dict, head: dict, momentum: float = 0.99,
                 loss: dict = dict(type='NormalizedMSELoss'), **kwargs):
        super().__init__(encoder, **kwargs)
        self.projector = self.build_mlp(neck, self.encoder.feat_dim)
        self.predictor = self.build_mlp(head, self.projector.out_dim)
        self.target = MomentumTarget(self.encoder, self.projector)
        self.criterion = MODELS.build(loss)
        self.momentum = momentum

    def compute_loss(self, views):
        b = len(views[0])
        pair = torch.cat(views[:2])
        h = self.encoder(pair)                                          # (2B, D)
        p1, p2 = self.predictor(self.projector(h)).chunk(2)             # (B, d) each
        self.target.update(self.encoder, self.projector,
                           momentum=cosine_momentum(self.momentum, training_progress()))
        z1, z2 = self.target(pair).chunk(2)                             # (B, d), no gradient
        loss = (self.criterion(p1, z2) + self.criterion(p2, z1)) / 2
        return dict(loss=loss), h[:b]
