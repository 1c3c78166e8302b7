import torch

from mm_ssl.registry import MODELS

from .base import BaseSSL


@MODELS.register_module()
class SimSiam(BaseSSL):
    r"""SimSiam (Chen & He 2021): encoder + projector (neck) + predictor (head); each view's
    prediction matches the other view's projection under a stop-gradient, with no negatives and
    no momentum encoder. The loss is :math:`\frac12 D(p_1, z_2) + \frac12 D(p_2, z_1)`.

    Args:
        stop_gradient: ``False`` removes the stop-gradient, which makes the representation
            collapse (the paper's §4.1); only useful to demonstrate collapse.
    """

    def __init__(self, encoder: dict, neck: dict, head: dict, stop_gradient: bool = True,
                 **kwargs):
        super().__init__(encoder, **kwargs)
        self.projector = self.build_mlp(neck, self.encoder.feat_dim)
        self.predictor = self.build_mlp(head, self.projector.out_dim)
        self.criterion = MODELS.build(dict(type='NegativeCosineLoss', stop_gradient=stop_gradient))

    def compute_loss(self, views):
        h = self.encoder(torch.cat(views[:2]))          # (2B, D)
        z = self.projector(h)                           # (2B, d)
        p1, p2 = self.predictor(z).chunk(2)             # (B, d) each
        z1, z2 = z.chunk(2)
        loss = (self.criterion(p1, z2) + self.criterion(p2, z1)) / 2
        return dict(loss=loss), h[:len(views[0])]
