import torch
import torch.nn as nn
import torch.nn.functional as F

from mm_ssl.errors import CheckpointError, ConfigError
from mm_ssl.models.checkpoint import check_matches, read_checkpoint
from mm_ssl.models.encoders.voxel_backbone import voxel_point_features
from mm_ssl.models.export import IMAGE_ENCODER_PREFIXES
from mm_ssl.ops.projection import project_into_image
from mm_ssl.registry import MODELS

from .base import BaseSSL


def load_image_encoder(encoder: nn.Module, path: str) -> str:
    """Load ``encoder``'s weights from the mm_ssl checkpoint ``path``, found under the first of
    :data:`~mm_ssl.models.export.IMAGE_ENCODER_PREFIXES` that holds a ResNet (``conv1.weight``);
    returns that prefix.

    Raises :class:`CheckpointError` naming ``path`` when no prefix holds one, or when its
    weights do not fit ``encoder`` (another depth, other keys).
    """
    state = read_checkpoint(path)
    for prefix in IMAGE_ENCODER_PREFIXES:
        weights = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if 'conv1.weight' not in weights:
            continue
        check_matches(encoder.state_dict(), weights, path)
        if extra := sorted(set(weights) - set(encoder.state_dict())):
            raise CheckpointError(f'{path}: {prefix}* holds {len(extra)} key(s) the image '
                                  f'encoder does not have, e.g. {", ".join(extra[:3])}')
        encoder.load_state_dict(weights)
        return prefix
    found = sorted({k.split('.')[0] + '.' for k in state})
    raise CheckpointError(f'{path}: no image encoder (no conv1.weight under '
                          f'{" or ".join(map(repr, IMAGE_ENCODER_PREFIXES))}: neither a SimIPU '
                          f'checkpoint nor one of an image method; prefixes found: '
                          f'{", ".join(found)})')


def batch_superpixel_ids(superpixels: torch.Tensor) -> torch.Tensor:
    """Per-image superpixel labels made unique over the batch: image f's labels are shifted by
    the number of superpixels of the images before it; -1 (padding) stays -1.

    Shape:
        superpixels: (B, H, W) int64, labels 0 .. n_f - 1 or -1; returns the same shape.
    """
    per_image = superpixels.flatten(1).max(1).values + 1                    # (B,)
    offsets = per_image.cumsum(0) - per_image
    return torch.where(superpixels >= 0, superpixels + offsets[:, None, None], -1)


@MODELS.register_module()
class SLidR(BaseSSL):
    """SLidR (Sautier et al., "Image-to-Lidar Self-Supervised Distillation for Autonomous
    Driving Data", CVPR 2022): a frozen, self-supervised image encoder teaches the point
    encoder. Points are projected into the camera image; point features and pixel features,
    each through a trainable linear head, are averaged over SLIC superpixels, and the pooled
    point feature of a superpixel must match the pooled pixel feature of the same superpixel
    against all other superpixels of the batch (:func:`~mm_ssl.losses.superpixel_info_nce`,
    τ = 0.07). Only points with a pixel (in front of the camera, inside the image) and a
    feature at ``point_layer`` take part.

    The image encoder is built from ``image_encoder`` and loaded from ``image_checkpoint``, any
    mm_ssl checkpoint with a ResNet: SimIPU's ``image_encoder.*`` or an image method's
    ``encoder.*`` (:func:`load_image_encoder`). It stays in eval mode (BatchNorm keeps the
    checkpoint's statistics) and gets no gradient. Its one ``out_maps`` map goes through the
    image head (a 1x1 projection, per pixel of the map) and is upsampled bilinearly to the
    image, as SLidR's "bilinear" decoder.

    The point encoder is a ``VoxelBackBone8x`` (``encoder.*`` in checkpoints, the part that
    transfers); per-point features are those of the voxel holding each point at
    ``point_layer`` (:func:`~mm_ssl.models.encoders.voxel_backbone.voxel_point_features`).
    SLidR's MinkUNet gives full-resolution point features; its VoxelNet variant, like this one,
    reads a stride-8 map.

    Args:
        encoder: config of the point encoder.
        image_encoder: a ResNet config with one entry in ``out_maps``.
        image_checkpoint: path of the mm_ssl checkpoint to take the image encoder from.
        point_head, image_head: MLP configs (``in_dim`` filled in); SLidR: linear to 64-d.
        loss: :class:`~mm_ssl.losses.SuperpixelInfoNCELoss` config.
    """

    def __init__(self, encoder: dict, image_encoder: dict, image_checkpoint: str,
                 point_head: dict, image_head: dict, data_preprocessor: dict,
                 loss: dict = dict(type='SuperpixelInfoNCELoss', temperature=0.07),
                 point_layer: str = 'x_conv4', init_cfg=None):
        super().__init__(encoder, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.image_encoder = MODELS.build(image_encoder)
        if len(self.image_encoder.out_maps) != 1:
            raise ConfigError(f'SLidR: the image encoder must return one feature map, got '
                              f'out_maps={self.image_encoder.out_maps}')
        (self.image_layer,) = self.image_encoder.out_maps
        load_image_encoder(self.image_encoder, image_checkpoint)
        self.image_encoder.requires_grad_(False).eval()
        self.point_head = self.build_mlp(point_head, self.encoder.map_channels[point_layer])
        self.image_head = self.build_mlp(image_head,
                                         self.image_encoder.map_channels[self.image_layer])
        self.criterion = MODELS.build(loss)
        self.point_layer = point_layer

    def train(self, mode: bool = True):
        super().train(mode)
        self.image_encoder.eval()
        return self

    def pixel_features(self, images: torch.Tensor) -> torch.Tensor:
        """Image-head features of every pixel of the padded batch. Shape: (B, 3, H, W) ->
        (B, D, H, W)."""
        with torch.no_grad():
            _, maps = self.image_encoder(images, return_maps=True)
        fmap = maps[self.image_layer]                                       # (B, C, h, w)
        b, c, h, w = fmap.shape
        projected = self.image_head(fmap.permute(0, 2, 3, 1).reshape(-1, c))
        projected = projected.view(b, h, w, -1).permute(0, 3, 1, 2)
        # the map of a stride-s encoder covers the padded image exactly (pixel centres aligned)
        return F.interpolate(projected, size=images.shape[-2:], mode='bilinear',
                             align_corners=False)

    def compute_loss(self, inputs: dict) -> tuple[dict, None]:
        if 'superpixels' not in inputs:
            raise ConfigError("SLidR: the samples carry no superpixels: end the pipeline with "
                              "dict(type='SLICSuperpixels'), after the image transforms")
        feats, valid = voxel_point_features(self.encoder, inputs['voxels_a'], inputs['points_a'],
                                            self.point_layer)
        superpixels = batch_superpixel_ids(inputs['superpixels'])            # (B, H, W)
        rows, point_ids = [], []
        for f, (points, has_feature) in enumerate(zip(inputs['points_a'], valid)):
            uv, _, seen = project_into_image(points[:, :3], inputs['lidar2img'][f],
                                             inputs['valid_hw'][f])
            take = has_feature & seen
            col, row = uv[take].round().long().unbind(1)
            point_ids.append(superpixels[f, row, col])
            rows.append(feats[f][take])
        point_side = self.point_head(torch.cat(rows))
        pixels = self.pixel_features(inputs['images'])
        pixel_side = pixels.permute(0, 2, 3, 1).reshape(-1, pixels.shape[1])
        loss = self.criterion(point_side, torch.cat(point_ids), pixel_side,
                              superpixels.flatten())
        return dict(loss_superpixel=loss), None
