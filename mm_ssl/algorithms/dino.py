import torch

from mm_ssl.models.momentum import MomentumTarget, cosine_momentum, training_progress
from mm_ssl.registry import MODELS

from .base import BaseSSL
from .multicrop import current_iter, encode_crops


@MODELS.register_module()
class DINO(BaseSSL):
    """DINO (Caron et al. 2021, "Emerging Properties in Self-Supervised Vision Transformers"):
    the student (encoder + :class:`DINOHead`) sees every crop, the teacher (their EMA, momentum
    rising from ``momentum`` to 1 on a cosine schedule) only the global crops; the student matches
    the centred, sharpened teacher distribution of every other crop (:class:`DINOLoss`).

    Args:
        head: :class:`DINOHead` config (``in_dim`` filled from the encoder).
        num_global_crops: the first views, seen by the teacher.
        freeze_last_layer_iters: the head's last layer gets no gradient for this many iterations
            (DINO freezes it for the first epoch).
        loss: :class:`DINOLoss` config; ``out_dim`` defaults to the head's.
    """

    def __init__(self, encoder: dict, head: dict, num_global_crops: int = 2,
                 momentum: float = 0.996, freeze_last_layer_iters: int = 0,
                 loss: dict = dict(type='DINOLoss'), **kwargs):
        super().__init__(encoder, **kwargs)
        self.head = self.build_mlp(head, self.encoder.feat_dim)
        self.teacher = MomentumTarget(self.encoder, self.head)
        self.criterion = MODELS.build(dict(loss, out_dim=loss.get('out_dim', self.head.out_dim)))
        self.num_global_crops, self.momentum = num_global_crops, momentum
        self.freeze_last_layer_iters = freeze_last_layer_iters

    def compute_loss(self, views):
        b, it = len(views[0]), current_iter()
        h = encode_crops(self.encoder, views)                           # (V*B, D)
        student = self.head(h, freeze_last_layer=it < self.freeze_last_layer_iters).split(b)
        self.teacher.update(self.encoder, self.head,
                            momentum=cosine_momentum(self.momentum, training_progress()))
        teacher = self.teacher(torch.cat(views[:self.num_global_crops])).split(b)  # G x (B, K)
        return dict(loss=self.criterion(list(student), list(teacher), it)), h[:b]
