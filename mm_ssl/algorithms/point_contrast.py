import torch

from mm_ssl.models.encoders.voxel_backbone import STRIDES_ZYX, voxel_cells, voxel_point_features
from mm_ssl.registry import MODELS

from .base import BaseSSL


@MODELS.register_module()
class PointContrast(BaseSSL):
    """PointContrast (Xie et al., ECCV 2020): point-level InfoNCE between two augmented views of
    one LiDAR frame, LiDAR only: the single-modality baseline of SimIPU's intra-modal term.

    Both views go through the same encoder and neither is detached (PointContrast's choice;
    SimIPU detaches view A). Point j of view B is point ``perm[j]`` of view A (SimIPU's views,
    read without the image: ``KittiPointImageDataset(with_image=False)``), so matches are exact;
    :class:`~mm_ssl.losses.PointInfoNCELoss` keeps one pair per voxel of each view and samples
    4096 of them over the batch, τ = 0.4.

    Point features are those of the voxel holding each point at ``point_layer`` (``x_conv4``,
    stride 8, by default; points whose voxel is empty there are left out), through ``head``:
    PointContrast's U-Net ends in a 1x1 convolution to 32 channels, a per-point linear layer,
    used only for pretraining, hence a linear ``MLP`` here.

    Args:
        encoder: config of the point encoder, a VoxelBackBone8x (``encoder.*`` in checkpoints).
        head: MLP config (``in_dim`` filled in).
        loss: :class:`~mm_ssl.losses.PointInfoNCELoss` config.
        point_layer: encoder output the point features are read from.
    """

    def __init__(self, encoder: dict, head: dict, data_preprocessor: dict,
                 loss: dict = dict(type='PointInfoNCELoss'), point_layer: str = 'x_conv4',
                 init_cfg=None):
        super().__init__(encoder, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.head = self.build_mlp(head, self.encoder.map_channels[point_layer])
        self.criterion = MODELS.build(loss)
        self.point_layer = point_layer

    def view_features(self, voxels, points) -> tuple[list, list, list]:
        """Per frame of one view: head outputs (N_f, d), validity (N_f,) and the voxel of each
        point at ``point_layer`` (N_f, 3)."""
        feats, valid = voxel_point_features(self.encoder, voxels, points, self.point_layer)
        sizes = [len(f) for f in feats]
        embedded = list(self.head(torch.cat(feats)).split(sizes))
        enc = self.encoder
        cells = [voxel_cells(p[:, :3], enc.voxel_size, enc.point_range,
                             STRIDES_ZYX[self.point_layer]) for p in points]
        return embedded, valid, cells

    def compute_loss(self, inputs: dict) -> tuple[dict, None]:
        feats_a, valid_a, cells_a = self.view_features(inputs['voxels_a'], inputs['points_a'])
        feats_b, valid_b, cells_b = self.view_features(inputs['voxels_b'], inputs['points_b'])
        pairs = []
        for perm, va, vb in zip(inputs['perm'], valid_a, valid_b):
            ib = torch.nonzero(va[perm] & vb)[:, 0]
            pairs.append((perm[ib], ib))
        loss = self.criterion(feats_a, feats_b, pairs, cells_a, cells_b)
        return dict(loss=loss), None
