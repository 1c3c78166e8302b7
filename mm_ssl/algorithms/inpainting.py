from mm_ssl.losses.pretext import masked_mse
from mm_ssl.registry import MODELS
from mm_ssl.transforms.pretext import region_mask

from .base import BaseSSL


@MODELS.register_module()
class ContextEncoder(BaseSSL):
    """Context encoder (Pathak et al. 2016, "Context Encoders: Feature Learning by Inpainting"):
    a region of the first view (``mask_fraction`` of each side, central or at a random place with
    ``random_region``) is set to 0 (the dataset mean after normalisation, as the paper fills it
    with the mean pixel), the encoder's feature vector goes through the decoder ``head`` back to
    an image, and the loss is the L2 error on the dropped pixels only (:func:`masked_mse`).
    Not done: the paper's adversarial loss and its heavier weight on the region's border.
    """

    def __init__(self, encoder: dict, head: dict, mask_fraction: float = 0.5,
                 random_region: bool = False, **kwargs):
        super().__init__(encoder, **kwargs)
        self.decoder = self.build_mlp(head, self.encoder.feat_dim)
        self.mask_fraction, self.random_region = mask_fraction, random_region

    def compute_loss(self, views):
        images = views[0]
        b, _, height, width = images.shape
        mask = region_mask(b, height, width, self.mask_fraction, self.random_region,
                           images.device)                              # (B, 1, H, W)
        h = self.encoder(images.masked_fill(mask, 0))                  # (B, D)
        return dict(loss=masked_mse(self.decoder(h), images, mask)), h
