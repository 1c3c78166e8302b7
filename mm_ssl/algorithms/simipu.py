import torch

from mm_ssl.models.encoders.voxel_backbone import voxel_point_features
from mm_ssl.registry import MODELS

from .base import BaseSSL


def run_on_rows(module, rows: list[torch.Tensor]) -> list[torch.Tensor]:
    """``module`` applied once to the rows of every frame together, split back per frame."""
    return list(module(torch.cat(rows)).split([len(r) for r in rows]))


@MODELS.register_module()
class SimIPU(BaseSSL):
    """SimIPU (Li et al., AAAI 2022) with a sparse-convolution point encoder, so the pretrained
    point branch transfers to voxel detectors (SECOND, PV-RCNN, CenterPoint), which the official
    PointNet++ branch cannot.

    - intra-modal: the two point views go through the same encoder; point j of view B is point
      ``perm[j]`` of view A (exact pairs, no matching needed); InfoNCE over the sampled points of
      the batch with view A detached as the key (SimIPU's choice).
    - inter-modal: view-A points projected into the image; only points with positive depth inside
      the image pair with the image feature at their pixel; both heads receive gradient.

    Point features are those of the voxel holding each point at ``point_layer`` (``x_conv4``,
    stride 8 by default); points whose voxel is empty there are left out of the losses.

    Args:
        encoder: config of the point encoder, a VoxelBackBone8x-like sparse encoder: the
            encoder that transfers (``encoder.*`` in checkpoints, as for every method).
        image_encoder: a ResNet with ``out_maps=('layer4',)`` (stride 32, SimIPU's C5).
        intra_head, point_cross_head, image_cross_head: MLP configs (``in_dim`` filled in).
        loss: :class:`~mm_ssl.losses.SimIPULoss` config (temperature, term weights).
        num_contrast_points: points per frame in the contrastive losses (SimIPU: 1024).
    """

    def __init__(self, encoder: dict, image_encoder: dict, intra_head: dict,
                 point_cross_head: dict, image_cross_head: dict, data_preprocessor: dict,
                 loss: dict = dict(type='SimIPULoss'), point_layer: str = 'x_conv4',
                 num_contrast_points: int = 1024, init_cfg=None):
        super().__init__(encoder, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.image_encoder = MODELS.build(image_encoder)
        point_dim = self.encoder.map_channels[point_layer]
        self.intra_head = MODELS.build(dict(intra_head, in_dim=point_dim))
        self.point_cross_head = MODELS.build(dict(point_cross_head, in_dim=point_dim))
        self.image_cross_head = MODELS.build(dict(image_cross_head,
                                                  in_dim=self.image_encoder.feat_dim))
        self.criterion = MODELS.build(loss)
        self.point_layer, self.num_contrast_points = point_layer, num_contrast_points

    def _subsample(self, index: torch.Tensor) -> torch.Tensor:
        if len(index) <= self.num_contrast_points:
            return index
        return index[torch.randperm(len(index), device=index.device)[:self.num_contrast_points]]

    def compute_loss(self, inputs: dict) -> tuple[dict, None]:
        feats_a, valid_a = voxel_point_features(self.encoder, inputs['voxels_a'],
                                                inputs['points_a'], self.point_layer)
        feats_b, valid_b = voxel_point_features(self.encoder, inputs['voxels_b'],
                                                inputs['points_b'], self.point_layer)

        pairs, cross_idx = [], []
        for perm, va, vb in zip(inputs['perm'], valid_a, valid_b):
            ib = self._subsample(torch.nonzero(va[perm] & vb)[:, 0])
            pairs.append((perm[ib], ib))
            cross_idx.append(self._subsample(torch.nonzero(va)[:, 0]))
        # heads run once per view on the sampled points of all frames, so their BatchNorm sees
        # the batch (the global batch under SyncBN); view A is the key and gets no gradient
        key_a = run_on_rows(self.intra_head, [fa[ia] for fa, (ia, _) in zip(feats_a, pairs)])
        key_a = [k.detach() for k in key_a]
        query_b = run_on_rows(self.intra_head, [fb[ib] for fb, (_, ib) in zip(feats_b, pairs)])
        ranges = [(torch.arange(len(ia), device=ia.device),) * 2 for ia, _ in pairs]

        _, maps = self.image_encoder(inputs['images'], return_maps=True)
        c5 = maps['layer4']                                                  # (B, C, H/32, W/32)
        b, c, h, w = c5.shape
        pixels = self.image_cross_head(c5.permute(0, 2, 3, 1).reshape(-1, c))   # per pixel
        pixel_maps = pixels.view(b, h, w, -1).permute(0, 3, 1, 2)
        point_side = run_on_rows(self.point_cross_head,
                                 [fa[idx] for fa, idx in zip(feats_a, cross_idx)])
        xyz = [p[idx, :3] for p, idx in zip(inputs['points_a'], cross_idx)]
        losses = self.criterion(
            intra=dict(feats_a=key_a, feats_b=query_b, pairs=ranges),
            cross=dict(point_feats=point_side, xyz=xyz, pixel_feature_maps=pixel_maps,
                       lidar2img=inputs['lidar2img'], image_hw=inputs['image_hw'],
                       valid_hw=inputs['valid_hw']))
        return losses, None
