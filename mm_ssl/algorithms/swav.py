import torch
import torch.nn as nn
import torch.nn.functional as F

from mm_ssl.models.heads.prototypes import NormalizedLinear
from mm_ssl.models.memory import KeyQueue
from mm_ssl.registry import MODELS

from .base import BaseSSL
from .multicrop import current_iter, encode_crops


@MODELS.register_module()
class SwAV(BaseSSL):
    """SwAV (Caron et al. 2020): every crop goes through encoder + projector, is L2-normalised and
    scored against unit-norm prototypes; Sinkhorn-Knopp turns the scores of each global crop
    into equal-partition codes, which every other crop (global and local) must predict.

    Args:
        neck: projector config (``in_dim`` filled from the encoder).
        num_prototypes: K.
        num_global_crops: the first views, which get codes ("crops_for_assign"); the other views
            are local crops, scored only.
        queue_size: 0 for none, else each global crop's embeddings of past batches (per rank)
            are scored too and their rows join Sinkhorn, so small batches still spread over K
            prototypes (SwAV §4.1). The queue is filled from ``queue_start_iter`` on and used
            once full.
        freeze_prototypes_iters: the prototypes get no gradient for this many iterations.
        loss: :class:`SwAVLoss` config (temperature, epsilon, iterations).
    """

    def __init__(self, encoder: dict, neck: dict, num_prototypes: int = 3000,
                 num_global_crops: int = 2, queue_size: int = 0, queue_start_iter: int = 0,
                 freeze_prototypes_iters: int = 0, loss: dict = dict(type='SwAVLoss'),
                 **kwargs):
        super().__init__(encoder, **kwargs)
        self.projector = self.build_mlp(neck, self.encoder.feat_dim)
        self.prototypes = NormalizedLinear(self.projector.out_dim, num_prototypes)
        self.queues = nn.ModuleList(KeyQueue(queue_size, self.projector.out_dim, gather=False)
                                    for _ in range(num_global_crops)) if queue_size else None
        self.criterion = MODELS.build(loss)
        self.num_global_crops, self.queue_start_iter = num_global_crops, queue_start_iter
        self.freeze_prototypes_iters = freeze_prototypes_iters

    def compute_loss(self, views):
        b, it = len(views[0]), current_iter()
        h = encode_crops(self.encoder, views)                           # (V*B, D)
        z = F.normalize(self.projector(h), dim=1)                       # (V*B, d)
        scores = self.prototypes(z, frozen=it < self.freeze_prototypes_iters).split(b)
        scores_for_codes = list(scores[:self.num_global_crops])         # G x (B, K)
        if self.queues is not None and it >= self.queue_start_iter:
            for s, queue in enumerate(self.queues):
                if int(queue.filled) == queue.size:
                    with torch.no_grad():
                        queued = self.prototypes(queue.negatives())     # (Q, K)
                    scores_for_codes[s] = torch.cat([queued, scores_for_codes[s]])
                queue.push(z[s * b:(s + 1) * b])
        return dict(loss=self.criterion(list(scores), scores_for_codes)), h[:b]
