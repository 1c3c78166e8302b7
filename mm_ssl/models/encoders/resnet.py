"""ResNet encoder: torchvision's ResNet without its classifier."""
import torch.nn as nn
import torchvision.models as tvm

from mm_ssl.errors import ConfigError
from mm_ssl.registry import MODELS

LAYERS = ('layer1', 'layer2', 'layer3', 'layer4')


@MODELS.register_module()
class ResNet(nn.Module):
    """ResNet-18/34/50 (He et al. 2016, "Deep Residual Learning for Image Recognition") as a
    feature encoder: torchvision's network with ``fc`` removed.

    Module names are torchvision's (conv1, bn1, layer1..layer4), so ``state_dict()`` loads into
    ``torchvision.models.resnet{depth}()`` with only ``fc.*`` missing.

    Args:
        depth: 18, 34 or 50.
        cifar_stem: 3x3 stride-1 first conv and no max-pool, for 32 px inputs (the CIFAR variant
            of SimCLR, Chen et al. 2020).
        zero_init_residual: zero the last BN of each residual branch (Goyal et al. 2017).
        out_maps: names among layer1..layer4 returned as feature maps by ``forward(x, True)``.
        in_channels: input channels.

    Attributes:
        feat_dim: width of the pooled feature (512 for depth 18/34, 2048 for 50).
        map_strides, map_channels: name -> stride / channels, for each name in ``out_maps``.

    Shape:
        x: (B, in_channels, H, W)
        forward(x): (B, feat_dim), global-average-pooled layer4.
        forward(x, return_maps=True): (B, feat_dim) and {name: (B, C, H/stride, W/stride)}.
    """

    def __init__(self, depth=50, cifar_stem=False, zero_init_residual=False, out_maps=('layer4',),
                 in_channels=3):
        super().__init__()
        if depth not in (18, 34, 50):
            raise ConfigError(f'ResNet: depth must be 18, 34 or 50, got {depth!r}')
        out_maps = tuple(out_maps)
        if unknown := set(out_maps) - set(LAYERS):
            raise ConfigError(f'ResNet: out_maps {sorted(unknown)} not in {LAYERS}')
        net = getattr(tvm, f'resnet{depth}')(weights=None, zero_init_residual=zero_init_residual)
        if cifar_stem or in_channels != 3:
            k, s, p = (3, 1, 1) if cifar_stem else (7, 2, 3)
            net.conv1 = nn.Conv2d(in_channels, 64, k, s, p, bias=False)
            nn.init.kaiming_normal_(net.conv1.weight, mode='fan_out', nonlinearity='relu')
        self.conv1, self.bn1, self.relu = net.conv1, net.bn1, net.relu
        self.maxpool = nn.Identity() if cifar_stem else net.maxpool
        for name in LAYERS:
            setattr(self, name, getattr(net, name))
        self.out_maps = out_maps
        self.feat_dim = net.fc.in_features
        stem_stride = 1 if cifar_stem else 4
        strides = {name: stem_stride * 2 ** i for i, name in enumerate(LAYERS)}
        channels = {name: self.feat_dim // 2 ** (3 - i) for i, name in enumerate(LAYERS)}
        self.map_strides = {name: strides[name] for name in out_maps}
        self.map_channels = {name: channels[name] for name in out_maps}

    def forward(self, x, return_maps=False):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        maps = {}
        for name in LAYERS:
            x = getattr(self, name)(x)
            if name in self.out_maps:
                maps[name] = x
        v = x.mean((2, 3))
        return (v, maps) if return_maps else v
