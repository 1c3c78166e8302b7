from mm_ssl.registry import MODELS

from .simclr import SimCLR


@MODELS.register_module()
class InvaSpread(SimCLR):
    """InvaSpread (Ye et al. 2019, "Unsupervised Embedding Learning via Invariant and Spreading
    Instance Feature"): end-to-end instance discrimination with one encoder and no memory. Both
    views go through the shared encoder and an embedding neck (linear 128-d in the paper); the
    augmented copy is the positive, every other sample and its copy in the batch are negatives
    (:class:`InvaSpreadLoss`). The computation is SimCLR's; only the objective differs.
    """

    def __init__(self, encoder: dict, neck: dict,
                 loss: dict = dict(type='InvaSpreadLoss', temperature=0.1), **kwargs):
        super().__init__(encoder, neck, loss, **kwargs)
