"""Video encoders: 3D CNNs over clips and a 2D image encoder applied frame by frame.

All take float clips (B, C, T, H, W) and return (B, D) clip features; ``forward(x,
return_frames=True)`` also returns frame features (B, T', D), the spatially pooled last feature
map before temporal pooling (T' = T / temporal stride). A clip of one frame (T = 1) is a single
image, so frame-level tasks (time-contrastive, order verification) run on every encoder here.
"""
import torch
import torch.nn as nn
import torchvision.models.video as tvv

from mm_ssl.errors import ConfigError
from mm_ssl.registry import MODELS

VIDEO_RESNETS = ('r3d_18', 'r2plus1d_18', 'mc3_18')


def _pool(maps: torch.Tensor, return_frames: bool):
    """(B, D, T', H', W') maps -> (B, D) clip features [and (B, T', D) frame features]."""
    frames = maps.mean((3, 4)).transpose(1, 2)              # (B, T', D)
    clip = frames.mean(1)                                   # (B, D)
    return (clip, frames) if return_frames else clip


@MODELS.register_module()
class VideoResNet(nn.Module):
    """torchvision's 18-layer video ResNets without their classifier (Tran et al. 2018, "A Closer
    Look at Spatiotemporal Convolutions for Action Recognition"): ``r3d_18`` (3D convolutions),
    ``mc3_18`` (3D in the first block, 2D after) and ``r2plus1d_18`` ((2+1)D factorised
    convolutions). VCOP (Xu et al. 2019) and TaCo (Bai et al. 2020) use these backbones.

    Module names are torchvision's (stem, layer1..layer4), so ``state_dict()`` loads into
    ``torchvision.models.video.<arch>()`` with only ``fc.*`` missing.

    Shape:
        x: (B, 3, T, H, W) -> (B, 512); with ``return_frames``: and (B, T', 512), T' = ceil(T / 8)
        for r3d_18 and r2plus1d_18, T for mc3_18 (its later blocks are 2D).
    """

    def __init__(self, arch: str = 'r3d_18'):
        super().__init__()
        if arch not in VIDEO_RESNETS:
            raise ConfigError(f'VideoResNet: arch must be one of {VIDEO_RESNETS}, got {arch!r}')
        net = getattr(tvv, arch)(weights=None)
        self.stem = net.stem
        self.layer1, self.layer2, self.layer3, self.layer4 = (net.layer1, net.layer2, net.layer3,
                                                              net.layer4)
        self.feat_dim = net.fc.in_features

    def forward(self, x, return_frames=False):
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
        return _pool(x, return_frames)


def _conv_block(c_in, c_out, stride):
    return nn.Sequential(nn.Conv3d(c_in, c_out, 3, stride, 1, bias=False),
                         nn.BatchNorm3d(c_out), nn.ReLU(inplace=True))


@MODELS.register_module()
class Small3DCNN(nn.Module):
    """A plain 3D CNN small enough to pretrain in minutes on a CPU (about 0.3 M parameters with the
    default widths): one 3x3x3 conv + BN + ReLU per stage; every stage halves H and W, the stages
    after the first ``len(widths) - temporal_downsamples`` also halve T (C3D-style, Tran et al.
    2015, scaled down).

    Shape:
        x: (B, in_channels, T, H, W) -> (B, widths[-1]); with ``return_frames``: and
        (B, T / 2**temporal_downsamples, widths[-1]) (at least 1 frame: a stride-2 conv with
        padding 1 keeps T = 1 at 1).
    """

    def __init__(self, widths=(16, 32, 64, 128), temporal_downsamples: int = 2,
                 in_channels: int = 3):
        super().__init__()
        if not 0 <= temporal_downsamples <= len(widths):
            raise ConfigError(f'Small3DCNN: temporal_downsamples must be in [0, {len(widths)}], '
                              f'got {temporal_downsamples}')
        first_t_stride = len(widths) - temporal_downsamples
        blocks, c_in = [], in_channels
        for i, c_out in enumerate(widths):
            blocks.append(_conv_block(c_in, c_out, (2 if i >= first_t_stride else 1, 2, 2)))
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.feat_dim = widths[-1]

    def forward(self, x, return_frames=False):
        return _pool(self.blocks(x), return_frames)


@MODELS.register_module()
class FrameEncoder(nn.Module):
    """A 2D image encoder (e.g. :class:`~mm_ssl.models.encoders.ResNet`) applied to every frame;
    the clip feature is the mean of the frame features (the per-frame baseline of Shuffle and
    Learn / OPN, Misra et al. 2016, Lee et al. 2017).

    Shape:
        x: (B, C, T, H, W) -> (B, D); with ``return_frames``: and (B, T, D).
    """

    def __init__(self, encoder: dict):
        super().__init__()
        self.image_encoder = MODELS.build(encoder)
        self.feat_dim = self.image_encoder.feat_dim

    def forward(self, x, return_frames=False):
        b, c, t, h, w = x.shape
        frames = self.image_encoder(x.transpose(1, 2).reshape(b * t, c, h, w)).view(b, t, -1)
        clip = frames.mean(1)
        return (clip, frames) if return_frames else clip
