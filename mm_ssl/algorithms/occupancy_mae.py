import torch

from mm_ssl.errors import ConfigError
from mm_ssl.losses.occupancy import occupancy_targets
from mm_ssl.models.encoders.voxel_backbone import encoder_layer, sparse_input
from mm_ssl.registry import MODELS

from .base import BaseSSL


def range_aware_mask(coords: torch.Tensor, voxel_size, point_range,
                     mask_ratios=(0.9, 0.7, 0.7), range_bounds=(30.0, 50.0),
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Occupancy-MAE's range-aware random masking: the voxels of each frame are split into bands
    by the bird's-eye distance of their centre from the LiDAR (``range_bounds``: within 30 m,
    30-50 m, beyond 50 m) and ``mask_ratios[k]`` of band k is masked, chosen uniformly at
    random, frame by frame. Near voxels are dense, so more of them can go; far ones are few
    and each carries more of the scene. The bands and the 0.2 lower ratio beyond 30 m are those
    of the authors' released code; the paper reports that masking 90% still learns.

    Each band keeps ``round((1 - ratio) * n)`` of its ``n`` voxels, so the ratios hold exactly
    (to one voxel) in every frame and band.

    Args:
        coords: (M, 4) int (b, z, y, x) voxel indices on the grid of ``voxel_size`` (x, y, z)
            and ``point_range`` (x0, y0, z0, x1, y1, z1).
        mask_ratios: the masked share of each band, one more entry than ``range_bounds``.
        range_bounds: increasing distances (m) between the bands.

    Shape:
        returns keep (M,) bool: True for the visible voxels.
    """
    if len(mask_ratios) != len(range_bounds) + 1:
        raise ConfigError(f'range_aware_mask: {len(range_bounds)} range bounds need '
                          f'{len(range_bounds) + 1} mask ratios, got {list(mask_ratios)}')
    device = coords.device
    size = torch.as_tensor(voxel_size[:2], dtype=torch.float64, device=device)
    low = torch.as_tensor(point_range[:2], dtype=torch.float64, device=device)
    centre_xy = low + (coords[:, [3, 2]].double() + 0.5) * size
    band = torch.bucketize(centre_xy.norm(dim=1),
                           torch.as_tensor(range_bounds, dtype=torch.float64, device=device))
    # one group per (frame, band); inside a group, a random order decides who stays visible
    num_bands = len(mask_ratios)
    group = coords[:, 0].long() * num_bands + band
    order = torch.argsort(group.double() + torch.rand(len(group), generator=generator,
                                                      dtype=torch.float64).to(device))
    counts = torch.bincount(group, minlength=int(group.max()) + 1 if len(group) else 0)
    first = counts.cumsum(0) - counts
    rank = torch.empty_like(group)
    rank[order] = torch.arange(len(group), device=device) - first[group[order]]
    keep_share = 1 - torch.as_tensor(mask_ratios, dtype=torch.float64, device=device)
    keep_count = torch.round(keep_share[band] * counts[group]).long()
    return rank < keep_count


@MODELS.register_module()
class OccupancyMAE(BaseSSL):
    """Occupancy-MAE (Min et al., "Occupancy-MAE: Self-supervised Pre-training Large-scale
    LiDAR Point Clouds with Masked Occupancy Autoencoders", IEEE T-IV 2023; first released as
    Voxel-MAE): most non-empty voxels are masked (:func:`range_aware_mask`), the sparse encoder
    sees only the visible ones, and a light 3D deconvolution head decodes from its stride-8
    map whether each cell of the scene, visible or masked, holds a point
    (:func:`~mm_ssl.losses.occupancy_bce`).

    The paper decodes from ``conv_out`` to the full grid; here the head reads ``x_conv4`` (the
    stride-8 map with the same stride on every axis, as SimIPU's point features) and predicts
    occupancy at ``decoder.out_stride`` (:class:`~mm_ssl.models.heads.OccupancyDecoder`).
    ``conv_out`` is not trained, as in SimIPU.

    Args:
        encoder: config of the point encoder, a ``VoxelBackBone8x`` (``encoder.*`` in
            checkpoints, the part that transfers).
        decoder: :class:`~mm_ssl.models.heads.OccupancyDecoder` config (``in_dim`` and
            ``in_stride`` filled in from the encoder).
        mask_ratios, range_bounds: see :func:`range_aware_mask`.
        loss: :class:`~mm_ssl.losses.OccupancyLoss` config.
        decode_layer: the encoder map the decoder reads, one of ``x_conv1`` .. ``x_conv4``
            (the same stride on every axis).
    """

    def __init__(self, encoder: dict, decoder: dict, data_preprocessor: dict,
                 loss: dict = dict(type='OccupancyLoss'), mask_ratios=(0.9, 0.7, 0.7),
                 range_bounds=(30.0, 50.0), decode_layer: str = 'x_conv4', init_cfg=None):
        super().__init__(encoder, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        stride = self.encoder.map_strides[decode_layer]
        self.decoder = MODELS.build(dict(decoder, in_dim=self.encoder.map_channels[decode_layer],
                                         in_stride=stride))
        self.criterion = MODELS.build(loss)
        self.mask_ratios, self.range_bounds = tuple(mask_ratios), tuple(range_bounds)
        self.decode_layer = decode_layer
        # OpenPCDet's grid has one z layer more than the range holds; no voxel is ever in it
        grid = [self.encoder.sparse_shape[0] - 1, *self.encoder.sparse_shape[1:]]
        out_stride = self.decoder.out_stride
        self.target_shape = tuple(-(-n // out_stride) for n in grid)

    def compute_loss(self, inputs: dict) -> tuple[dict, None]:
        feats, coords = inputs['voxels_a']
        batch_size = len(inputs['points_a'])
        keep = range_aware_mask(coords, self.encoder.voxel_size, self.encoder.point_range,
                                self.mask_ratios, self.range_bounds)
        visible = sparse_input(self.encoder, (feats[keep], coords[keep]), batch_size)
        logits = self.decoder(encoder_layer(self.encoder(visible), self.decode_layer))
        if any(got < want for got, want in zip(logits.shape[1:], self.target_shape)):
            raise ConfigError(
                f'OccupancyMAE: the decoder gives {tuple(logits.shape[1:])} cells, fewer than '
                f'the {self.target_shape} of the occupancy target at stride '
                f'{self.decoder.out_stride}: choose a voxel size / point range whose grid '
                'divides by 8')
        z, y, x = self.target_shape
        target = occupancy_targets(coords, batch_size, self.target_shape,
                                   self.decoder.out_stride)
        return dict(loss_occupancy=self.criterion(logits[:, :z, :y, :x], target)), None
