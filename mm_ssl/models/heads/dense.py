"""Heads that predict per pixel: colour classes (colorization) and images (inpainting)."""
import math

import torch.nn as nn

from mm_ssl.errors import ConfigError
from mm_ssl.registry import MODELS


@MODELS.register_module()
class DenseClsHead(nn.Sequential):
    """Per-location classifier on a feature map: 3x3 conv + BN + ReLU, then a 1x1 conv to the
    class logits (colorization's colour bins, Zhang et al. 2016).

    Shape:
        - input: (N, in_dim, h, w); output: (N, num_classes, h, w).
    """

    def __init__(self, in_dim: int, num_classes: int, hidden_dim: int = 256):
        super().__init__(nn.Conv2d(in_dim, hidden_dim, 3, padding=1, bias=False),
                         nn.BatchNorm2d(hidden_dim), nn.ReLU(inplace=True),
                         nn.Conv2d(hidden_dim, num_classes, 1))


@MODELS.register_module()
class ConvDecoder(nn.Sequential):
    """Decoder from a feature vector to an image, as the context encoder's (Pathak et al. 2016,
    §3.1): a fully connected layer to a ``width`` x 4 x 4 map, then stride-2 transposed convs
    (with BN + ReLU between them) halving the channels and doubling the size up to ``out_size``.

    Shape:
        - input: (N, in_dim); output: (N, out_channels, out_size, out_size).
    """

    def __init__(self, in_dim: int, out_channels: int = 3, out_size: int = 32, width: int = 256):
        steps = math.log2(out_size / 4)
        if steps != int(steps) or steps < 1:
            raise ConfigError(f'ConvDecoder: out_size must be 4 * 2^k (k >= 1), got {out_size}')
        layers = [nn.Linear(in_dim, width * 16), nn.Unflatten(1, (width, 4, 4)),
                  nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        channels = width
        for _ in range(int(steps) - 1):
            layers += [nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(channels // 2), nn.ReLU(inplace=True)]
            channels //= 2
        layers.append(nn.ConvTranspose2d(channels, out_channels, 4, 2, 1))
        super().__init__(*layers)
