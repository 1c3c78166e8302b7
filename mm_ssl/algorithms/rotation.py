from mm_ssl.losses.pretext import pretext_classification
from mm_ssl.registry import MODELS
from mm_ssl.transforms.pretext import rotate_all

from .base import BaseSSL


@MODELS.register_module()
class RotationPrediction(BaseSSL):
    """RotNet (Gidaris et al. 2018, "Unsupervised Representation Learning by Predicting Image
    Rotations"): every image of the batch is seen at 0, 90, 180 and 270 degrees and a classifier
    (``head``, its ``out_dim`` set to 4) on the encoder's features predicts which rotation was
    applied; loss: cross-entropy. Uses the first view only; the probe sees the upright images.
    """

    def __init__(self, encoder: dict, head: dict, **kwargs):
        super().__init__(encoder, **kwargs)
        self.head = self.build_mlp(dict(head, out_dim=4), self.encoder.feat_dim)

    def compute_loss(self, views):
        images, labels = rotate_all(views[0])           # (4B, C, H, W), (4B,)
        h = self.encoder(images)                        # (4B, D), upright images first
        return pretext_classification(self.head(h), labels), h[:len(views[0])]
