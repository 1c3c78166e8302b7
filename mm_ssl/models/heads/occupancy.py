"""Occupancy-MAE's decoder (Min et al., IEEE T-IV 2023): sparse encoder features -> dense 3D
occupancy logits."""
import math

import torch
import torch.nn as nn

from mm_ssl.errors import ConfigError
from mm_ssl.registry import MODELS


@MODELS.register_module()
class OccupancyDecoder(nn.Module):
    """A light 3D deconvolution head: the encoder's sparse map made dense, then stride-2
    transposed convs (kernel 3, BN, ReLU; channels halved each time) from ``in_stride`` down to
    ``out_stride`` and a 1x1x1 conv to one occupancy logit per cell.

    The paper decodes to the full input grid (41 x 1600 x 1408 cells for KITTI, three
    transposed convs after ``conv_out``); here the output is ``out_stride`` times coarser per
    axis (stride 4: 10 x 400 x 352 cells for KITTI, about 65x fewer), which keeps the dense
    volume small enough to train on a CPU while the target still separates objects 0.2 m
    apart (0.4 m in height) at KITTI's 0.05 x 0.05 x 0.1 m voxels.

    Args:
        in_dim: channels of the encoder map (64 for ``VoxelBackBone8x``'s ``x_conv4``).
        in_stride: its stride in input voxels, the same on every axis (8 for ``x_conv4``).
        out_stride: stride of the predicted occupancy; ``in_stride / out_stride`` must be a
            power of two.

    Shape:
        - input: SparseConvTensor on a (Z, Y, X) grid, ``in_dim`` features.
        - output: (B, Z * k, Y * k, X * k) logits, k = in_stride / out_stride.
    """

    def __init__(self, in_dim: int = 64, in_stride: int = 8, out_stride: int = 4):
        super().__init__()
        steps = math.log2(in_stride / out_stride)
        if steps != int(steps) or steps < 0:
            raise ConfigError(f'OccupancyDecoder: in_stride / out_stride must be a power of two '
                              f'>= 1, got {in_stride} / {out_stride}')
        layers, channels = [], in_dim
        for _ in range(int(steps)):
            out = max(channels // 2, 8)
            layers += [nn.ConvTranspose3d(channels, out, 3, stride=2, padding=1,
                                          output_padding=1, bias=False),
                       nn.BatchNorm3d(out), nn.ReLU(inplace=True)]
            channels = out
        layers.append(nn.Conv3d(channels, 1, 1))
        self.layers = nn.Sequential(*layers)
        self.in_stride, self.out_stride = in_stride, out_stride

    def forward(self, x) -> torch.Tensor:
        return self.layers(x.dense())[:, 0]
