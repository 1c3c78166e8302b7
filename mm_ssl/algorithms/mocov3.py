from mm_ssl.registry import MODELS

from .byol import BYOL


@MODELS.register_module()
class MoCoV3(BYOL):
    """MoCo v3 (Chen, Xie & He 2021, "An Empirical Study of Training Self-Supervised Vision
    Transformers"): BYOL's layout (online encoder + 3-layer projector + predictor; momentum
    encoder + projector whose momentum rises to 1 on a cosine schedule) with InfoNCE between the
    prediction of one view (query) and the momentum key of the other: the keys of the rest of
    the batch, over all ranks, are the negatives and there is no queue. Symmetric: both view
    orders, averaged (the paper sums them and scales by 2τ, a constant factor).

    The ViT encoder's ``freeze_patch_embed=True`` keeps its random patch projection fixed, the
    paper's fix for training instability.
    """

    def __init__(self, encoder: dict, neck: dict, head: dict, momentum: float = 0.99,
                 loss: dict = dict(type='InfoNCELoss', temperature=0.2), **kwargs):
        super().__init__(encoder, neck, head, momentum, loss, **kwargs)
