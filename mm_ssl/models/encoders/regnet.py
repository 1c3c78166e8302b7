"""RegNet encoder: torchvision's RegNet without its classifier (the SEER backbone family)."""
import torch.nn as nn
import torchvision.models as tvm

from mm_ssl.errors import ConfigError
from mm_ssl.registry import MODELS

BLOCKS = ('block1', 'block2', 'block3', 'block4')


@MODELS.register_module()
class RegNet(nn.Module):
    """RegNetX / RegNetY (Radosavovic et al. 2020, "Designing Network Design Spaces") as a feature
    encoder, as SEER (Goyal et al. 2021) pretrains them at scale: torchvision's network with
    ``avgpool`` / ``fc`` removed. Same interface as :class:`ResNet`.

    Module names are torchvision's (``stem``, ``trunk_output.block1..4``), so ``state_dict()``
    loads into ``torchvision.models.<arch>()`` with only ``fc.*`` missing.

    Args:
        arch: a torchvision RegNet builder, e.g. ``regnet_y_400mf``, ``regnet_x_1_6gf``,
            ``regnet_y_16gf``.
        cifar_stem: stride-1 stem, for 32 px inputs.
        out_maps: names among block1..block4 returned as feature maps by ``forward(x, True)``.
        in_channels: input channels.

    Attributes:
        feat_dim: width of the pooled feature (440 for regnet_y_400mf).
        map_strides, map_channels: name -> stride / channels, for each name in ``out_maps``.

    Shape:
        x: (B, in_channels, H, W)
        forward(x): (B, feat_dim), global-average-pooled block4.
        forward(x, return_maps=True): (B, feat_dim) and {name: (B, C, H/stride, W/stride)}.
    """

    def __init__(self, arch='regnet_y_400mf', cifar_stem=False, out_maps=('block4',),
                 in_channels=3):
        super().__init__()
        if not arch.startswith('regnet_') or not hasattr(tvm, arch):
            raise ConfigError(f'RegNet: arch must name a torchvision RegNet (e.g. '
                              f'regnet_y_400mf), got {arch!r}')
        out_maps = tuple(out_maps)
        if unknown := set(out_maps) - set(BLOCKS):
            raise ConfigError(f'RegNet: out_maps {sorted(unknown)} not in {BLOCKS}')
        net = getattr(tvm, arch)(weights=None)
        conv = net.stem[0]
        if cifar_stem or in_channels != 3:
            net.stem[0] = nn.Conv2d(in_channels, conv.out_channels, 3, 1 if cifar_stem else 2, 1,
                                    bias=False)
            nn.init.kaiming_normal_(net.stem[0].weight, mode='fan_out', nonlinearity='relu')
        self.stem, self.trunk_output = net.stem, net.trunk_output
        self.out_maps = out_maps
        self.feat_dim = net.fc.in_features
        stem_stride = 1 if cifar_stem else 2
        self.map_strides = {name: stem_stride * 2 ** (i + 1) for i, name in enumerate(BLOCKS)
                            if name in out_maps}
        self.map_channels = {name: getattr(net.trunk_output, name)[-1].f.c[0].out_channels
                             for name in out_maps}

    def forward(self, x, return_maps=False):
        x = self.stem(x)
        maps = {}
        for name in BLOCKS:
            x = getattr(self.trunk_output, name)(x)
            if name in self.out_maps:
                maps[name] = x
        v = x.mean((2, 3))
        return (v, maps) if return_maps else v
