import torch
import torch.nn.functional as F

from mm_ssl.errors import ConfigError
from mm_ssl.losses.pretext import ab_cells_per_axis, colorization_loss
from mm_ssl.registry import MODELS
from mm_ssl.transforms.color import rgb_to_lab

from .base import BaseSSL


@MODELS.register_module()
class Colorization(BaseSSL):
    """Colorization as classification (Zhang et al. 2016, "Colorful Image Colorization"): the
    encoder sees only the lightness L of the first view; a per-pixel ``head`` on its feature map
    ``feature_map`` predicts the quantised a*b* bin of every pixel (logits upsampled bilinearly to
    the image), loss :func:`colorization_loss`.

    The encoder must take one input channel (``in_channels=1``) and return ``feature_map``
    (e.g. ResNet's ``out_maps``); reading its last stage trains the whole encoder, so small
    images need a stem that keeps resolution (ResNet's ``cifar_stem``: a 4x4 map at 32 px).
    :meth:`extract_feat` converts RGB input to L, so evaluation and the probe run on ordinary
    images. Grey images (digits) make the task trivial: every pixel is in the neutral bin.
    """

    def __init__(self, encoder: dict, head: dict, feature_map: str = 'layer4',
                 bin_size: float = 10.0, ab_max: float = 110.0, **kwargs):
        super().__init__(encoder, **kwargs)
        if feature_map not in getattr(self.encoder, 'map_channels', {}):
            raise ConfigError(f'Colorization: the encoder returns no feature map '
                              f'{feature_map!r}; add it to the encoder\'s out_maps')
        self.feature_map, self.bin_size, self.ab_max = feature_map, bin_size, ab_max
        num_bins = ab_cells_per_axis(bin_size, ab_max) ** 2
        self.head = self.build_mlp(dict(head, num_classes=num_bins),
                                   self.encoder.map_channels[feature_map])

    def to_lab(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised RGB images -> (L scaled to [-1, 1] (B, 1, H, W), a*b* (B, 2, H, W))."""
        preprocessor = self.data_preprocessor
        rgb = (inputs * preprocessor.std + preprocessor.mean) / 255
        lab = rgb_to_lab(rgb.clamp(0, 1))
        return lab[:, :1] / 50 - 1, lab[:, 1:]

    def extract_feat(self, inputs):
        return self.encoder(self.to_lab(inputs)[0])

    def compute_loss(self, views):
        lightness, ab = self.to_lab(views[0])
        h, maps = self.encoder(lightness, return_maps=True)
        logits = self.head(maps[self.feature_map])                     # (B, Q, h, w)
        logits = F.interpolate(logits, size=ab.shape[-2:], mode='bilinear', align_corners=False)
        return dict(loss=colorization_loss(logits, ab, self.bin_size, self.ab_max)), h
