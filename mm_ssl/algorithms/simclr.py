import torch
import torch.nn as nn

from mm_ssl.registry import MODELS

from .base import BaseSSL


@MODELS.register_module()
class SimCLR(BaseSSL):
    """SimCLR (Chen et al. 2020): two views through encoder and projector, NT-Xent between them.

    Both views go through the encoder as one batch, so BatchNorm sees 2B samples. ``loss``
    selects the two-view objective: NT-Xent, or a variant from ``mm_ssl.losses`` (DCL / DCW,
    hard negatives, alignment + uniformity, triplet). ``neck=None`` trains on the encoder output
    directly (DirectCLR with ``DirectCLRLoss``).
    """

    def __init__(self, encoder: dict, neck: dict | None, loss: dict = dict(type='NTXentLoss'),
                 **kwargs):
        super().__init__(encoder, **kwargs)
        self.projector = self.build_mlp(neck, self.encoder.feat_dim) if neck else nn.Identity()
        self.criterion = MODELS.build(loss)

    def compute_loss(self, views):
        h = self.encoder(torch.cat(views[:2]))          # (2B, D)
        z1, z2 = self.projector(h).chunk(2)             # (B, d) each
        return dict(loss=self.criterion(z1, z2)), h[:len(views[0])]
