"""OpenPCDet's VoxelBackBone8x on mm_ssl's sparse convolutions (exact on CPU, spconv on CUDA)."""

import spconv.pytorch as spconv
import torch
import torch.nn as nn

from mm_ssl.errors import ConfigError
from mm_ssl.ops import SparseConv3d, SubMConv3d
from mm_ssl.registry import MODELS
from mm_ssl.transforms.points import KITTI_RANGE, KITTI_VOXEL, sparse_shape

# encoder types that take voxelised point clouds: their checkpoints transfer to 3D detection
POINT_ENCODERS = frozenset({'VoxelBackBone8x'})
# Per-axis (z, y, x) downsampling of each output, in input voxels.
STRIDES_ZYX = {'x_conv1': (1, 1, 1), 'x_conv2': (2, 2, 2), 'x_conv3': (4, 4, 4),
               'x_conv4': (8, 8, 8), 'encoded': (16, 8, 8)}


def _block(c_in, c_out, indice_key, stride=1, padding=1):
    """(conv, BN1d, ReLU); a SubM conv at stride 1, else a regular sparse conv, as OpenPCDet's
    ``post_act_block``. BN eps/momentum are OpenPCDet's (SECOND's)."""
    conv = (SubMConv3d(c_in, c_out, 3, bias=False, indice_key=indice_key) if stride == 1 else
            SparseConv3d(c_in, c_out, 3, stride, padding, bias=False, indice_key=indice_key))
    return spconv.SparseSequential(conv, nn.BatchNorm1d(c_out, eps=1e-3, momentum=0.01),
                                   nn.ReLU())


@MODELS.register_module()
class VoxelBackBone8x(nn.Module):
    """The sparse 3D backbone of SECOND (Yan et al. 2018) as OpenPCDet's ``VoxelBackBone8x``
    (mmdet3d's ``SparseEncoder``): SubM stem, three stride-2 stages and a z-only downsampling.

    Module names, layers and BN settings are OpenPCDet's, so ``state_dict()`` keys equal those of
    OpenPCDet's ``backbone_3d.*`` with the prefix removed (``conv_input.0.weight``,
    ``conv2.0.0.weight``, ``conv_out.1.running_mean``, ...) and weights use spconv >= 2.2's layout.

    Args:
        in_channels: voxel feature channels (4 for mean-VFE x, y, z, intensity).
        voxel_size: (x, y, z) metres of an input voxel, KITTI's [0.05, 0.05, 0.1] by default.
        point_range: (x_min, y_min, z_min, x_max, y_max, z_max) of the voxel grid.
        last_pad: padding of ``conv_out`` (OpenPCDet's ``last_pad``).

    Attributes:
        sparse_shape: (z, y, x) grid of the input, OpenPCDet's ``grid_size[::-1] + [1, 0, 0]``
            of ``voxel_size`` and ``point_range``: [41, 1600, 1408] for KITTI.
        feat_dim: 128, channels of ``encoded_spconv_tensor``.
        map_strides, map_channels: x_conv1..x_conv4 -> stride in x/y (1, 2, 4, 8) / channels
            (16, 32, 64, 64).

    Shape:
        x: SparseConvTensor, features (N, in_channels), indices (N, 4) int32 (b, z, y, x) on
            ``sparse_shape``.
        forward(x): dict with ``encoded_spconv_tensor`` (SparseConvTensor, 128 channels, on
            [2, 200, 176] for KITTI), ``encoded_spconv_tensor_stride`` (8),
            ``multi_scale_3d_features`` {x_conv1..x_conv4: SparseConvTensor} and
            ``multi_scale_3d_strides`` (= map_strides).
    """

    def __init__(self, in_channels=4, voxel_size=KITTI_VOXEL, point_range=KITTI_RANGE,
                 last_pad=0):
        super().__init__()
        self.voxel_size, self.point_range = tuple(voxel_size), tuple(point_range)
        self.sparse_shape = sparse_shape(voxel_size, point_range)
        self.conv_input = spconv.SparseSequential(
            SubMConv3d(in_channels, 16, 3, padding=1, bias=False, indice_key='subm1'),
            nn.BatchNorm1d(16, eps=1e-3, momentum=0.01), nn.ReLU())
        self.conv1 = spconv.SparseSequential(_block(16, 16, 'subm1'))
        self.conv2 = spconv.SparseSequential(
            _block(16, 32, 'spconv2', 2), _block(32, 32, 'subm2'), _block(32, 32, 'subm2'))
        self.conv3 = spconv.SparseSequential(
            _block(32, 64, 'spconv3', 2), _block(64, 64, 'subm3'), _block(64, 64, 'subm3'))
        self.conv4 = spconv.SparseSequential(
            _block(64, 64, 'spconv4', 2, (0, 1, 1)), _block(64, 64, 'subm4'),
            _block(64, 64, 'subm4'))
        self.conv_out = spconv.SparseSequential(
            SparseConv3d(64, 128, (3, 1, 1), (2, 1, 1), last_pad, bias=False,
                         indice_key='spconv_down2'),
            nn.BatchNorm1d(128, eps=1e-3, momentum=0.01), nn.ReLU())
        self.feat_dim = 128
        self.map_strides = {'x_conv1': 1, 'x_conv2': 2, 'x_conv3': 4, 'x_conv4': 8}
        self.map_channels = {'x_conv1': 16, 'x_conv2': 32, 'x_conv3': 64, 'x_conv4': 64}

    def forward(self, x: spconv.SparseConvTensor):
        if list(x.spatial_shape) != self.sparse_shape:
            raise ConfigError(
                f'VoxelBackBone8x: input spatial_shape {list(x.spatial_shape)} != sparse_shape '
                f'{self.sparse_shape} of voxel_size {self.voxel_size} and point_range '
                f'{self.point_range}: voxelise with the same grid')
        x1 = self.conv1(self.conv_input(x))
        x2 = self.conv2(x1)
        x3 = self.conv3(x2)
        x4 = self.conv4(x3)
        return {'encoded_spconv_tensor': self.conv_out(x4),
                'encoded_spconv_tensor_stride': 8,
                'multi_scale_3d_features': {'x_conv1': x1, 'x_conv2': x2, 'x_conv3': x3,
                                            'x_conv4': x4},
                'multi_scale_3d_strides': dict(self.map_strides)}


def voxel_cells(points_xyz, voxel_size, point_cloud_range, stride_zyx=(1, 1, 1)):
    """Index (x, y, z) of the stride-``stride_zyx`` voxel holding each point: input voxel
    ``floor((xyz - min) / voxel_size)`` divided by the stride, rounding down (OpenPCDet's
    ``get_voxel_centers`` convention). Points outside the grid get indices outside it.

    Shape:
        points_xyz: (P, 3); returns (P, 3) int64.
    """
    dev = points_xyz.device
    lo = torch.as_tensor(point_cloud_range[:3], dtype=points_xyz.dtype, device=dev)
    size = torch.as_tensor(voxel_size, dtype=points_xyz.dtype, device=dev)
    stride = torch.as_tensor(stride_zyx, device=dev).flip(0)  # x, y, z
    return torch.div(((points_xyz - lo) / size).floor().long(), stride, rounding_mode='floor')


def gather_point_features(sp, points_xyz, batch_idx, voxel_size, point_cloud_range,
                          stride_zyx=(1, 1, 1)):
    """Per-point features from the sparse voxel holding each point, differentiable w.r.t. the
    voxel features.

    A stride-s voxel o holds the input voxels [s*o, s*o + s) on each axis, the convention of
    OpenPCDet's ``get_voxel_centers`` (PV-RCNN's voxel set abstraction). Points whose voxel is
    not active at this scale, or that lie outside the grid, get zero features and ``valid`` False
    rather than a nearest voxel's features, so a loss can drop them instead of learning from
    another place's features.

    Args:
        sp: SparseConvTensor, indices (b, z, y, x).
        points_xyz: (P, 3) points in the frame of ``point_cloud_range``.
        batch_idx: (P,) batch element of each point.
        voxel_size: (x, y, z) input voxel size.
        point_cloud_range: (x_min, y_min, z_min, x_max, y_max, z_max).
        stride_zyx: downsampling of ``sp`` relative to the input voxels, per axis (z, y, x).

    Shape:
        returns features (P, C) and valid (P,) bool.
    """
    cell = voxel_cells(points_xyz, voxel_size, point_cloud_range, stride_zyx)
    shape = torch.as_tensor(sp.spatial_shape, device=cell.device).flip(0)
    inside = ((cell >= 0) & (cell < shape)).all(1)
    # Linear keys over (b, z, y, x); the grid is small enough for int64.
    z, y, x = sp.spatial_shape

    def key(b, zz, yy, xx):
        return ((b * z + zz) * y + yy) * x + xx

    ind = sp.indices.long()
    voxel_keys, order = key(ind[:, 0], ind[:, 1], ind[:, 2], ind[:, 3]).sort()
    point_keys = key(batch_idx.long(), cell[:, 2], cell[:, 1], cell[:, 0])
    pos = torch.searchsorted(voxel_keys, point_keys).clamp_(max=len(voxel_keys) - 1)
    valid = inside & (voxel_keys[pos] == point_keys)
    rows = order[pos]
    feats = sp.features.index_select(0, rows) * valid[:, None].to(sp.features.dtype)
    return feats, valid


def sparse_input(encoder: VoxelBackBone8x, voxels: tuple[torch.Tensor, torch.Tensor],
                 batch_size: int) -> spconv.SparseConvTensor:
    """The encoder's input tensor of a batch of voxelised frames (features (V, C_in), coordinates
    (V, 4) int32 (b, z, y, x), as the LiDAR preprocessor gives them) on its grid."""
    feats, coords = voxels
    return spconv.SparseConvTensor(feats, coords, encoder.sparse_shape, batch_size)


def encoder_layer(out: dict, layer: str) -> spconv.SparseConvTensor:
    """``x_conv1`` .. ``x_conv4`` or ``encoded`` (the 128-channel output) of a
    :class:`VoxelBackBone8x` output dict."""
    return out['encoded_spconv_tensor'] if layer == 'encoded' else \
        out['multi_scale_3d_features'][layer]


def frame_max_pool(sp: spconv.SparseConvTensor) -> torch.Tensor:
    """Channel-wise maximum over the active voxels of each frame (DepthContrast's global
    pooling); a frame without active voxels gets zeros.

    Shape:
        returns (batch_size, C).
    """
    frame = sp.indices[:, 0].long()
    pooled = sp.features.new_zeros(sp.batch_size, sp.features.shape[1])
    return pooled.scatter_reduce(0, frame[:, None].expand_as(sp.features), sp.features, 'amax',
                                 include_self=False)


class FrameMaxPool(nn.Module):
    """:func:`frame_max_pool` of a :class:`VoxelBackBone8x`'s 128-channel output: one feature
    (B, 128) per frame for frame-level methods, as a module so that encoder, pooling and head
    chain into one ``nn.Sequential`` (a momentum copy). No parameters."""

    def forward(self, out: dict) -> torch.Tensor:
        return frame_max_pool(out['encoded_spconv_tensor'])


def voxel_point_features(encoder: VoxelBackBone8x, voxels: tuple[torch.Tensor, torch.Tensor],
                         points: list[torch.Tensor], layer: str = 'x_conv4'
                         ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Runs ``encoder`` on one batch of voxelised frames and returns, for every point of every
    frame, the features at ``layer`` of the voxel holding it (:func:`gather_point_features`):
    the per-point features point-level pretraining losses (SimIPU, PointContrast) act on.

    Args:
        encoder: a :class:`VoxelBackBone8x` (``sparse_shape``, ``voxel_size``, ``point_range``).
        voxels: (features (V, C_in), coordinates (V, 4) int32 (b, z, y, x)) of the whole batch,
            as the LiDAR preprocessor gives them.
        points: per frame, the (N_f, >= 3) points in the encoder's frame.
        layer: ``x_conv1`` .. ``x_conv4`` or ``encoded`` (the 128-channel output).

    Shape:
        returns per frame features (N_f, C) (zero where not valid) and valid (N_f,) bool: False
        for points outside the grid or whose voxel is empty at ``layer``.
    """
    sp = encoder_layer(encoder(sparse_input(encoder, voxels, len(points))), layer)
    xyz = torch.cat([p[:, :3] for p in points])
    batch_idx = torch.cat([torch.full((len(p),), f, device=xyz.device)
                           for f, p in enumerate(points)])
    per_point, valid = gather_point_features(sp, xyz, batch_idx, encoder.voxel_size,
                                             encoder.point_range, STRIDES_ZYX[layer])
    sizes = [len(p) for p in points]
    return list(per_point.split(sizes)), list(valid.split(sizes))
