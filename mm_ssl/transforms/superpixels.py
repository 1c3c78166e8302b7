"""SLIC superpixels (Achanta et al., "SLIC Superpixels Compared to State-of-the-Art Superpixel
Methods", TPAMI 2012) of the camera image, for SLidR's superpixel-pooled distillation."""
import numpy as np
import torch
from skimage.segmentation import slic

from mm_ssl.registry import TRANSFORMS


@TRANSFORMS.register_module()
class SLICSuperpixels:
    """Adds ``superpixels``, the SLIC segmentation of ``results['image']``: an int64 label per
    pixel, 0 .. n-1 inside the valid (unpadded) ``img_shape`` and -1 in the padding.

    Put it after every image transform (:class:`~mm_ssl.transforms.ImageResizeFlip`), so the
    superpixels are those of the image the network sees and the ``lidar2img`` that projects the
    points onto it. SLidR segments with scikit-image's ``slic(n_segments=150, compactness=6,
    sigma=3)`` (the defaults here).

    Shape:
        image: (3, H, W) uint8; superpixels: (H, W) int64.
    """

    def __init__(self, n_segments: int = 150, compactness: float = 6.0, sigma: float = 3.0):
        self.n_segments, self.compactness, self.sigma = n_segments, compactness, sigma

    def __call__(self, results, generator=None):
        image = results['image']
        h, w = results.get('img_shape', image.shape[-2:])
        valid = image[:, :h, :w].permute(1, 2, 0).numpy()
        labels = slic(valid, n_segments=self.n_segments, compactness=self.compactness,
                      sigma=self.sigma, start_label=0, channel_axis=-1)
        superpixels = torch.full(image.shape[-2:], -1, dtype=torch.long)
        superpixels[:h, :w] = torch.from_numpy(labels.astype(np.int64))
        results['superpixels'] = superpixels
        return results
