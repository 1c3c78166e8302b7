"""Encoder weights in the layouts detection codebases load (BRIEF.md §3)."""
import re

import torch

from mm_ssl.errors import CheckpointError

# OpenPCDet's VoxelBackBone8x stage names -> mmdet3d's SparseEncoder names
_MMDET3D_STAGES = {f'conv{i}.': f'encoder_layers.encoder_layer{i}.' for i in range(1, 5)}


def sub_state(state: dict, prefix: str, path: str) -> dict:
    """The entries of ``state`` under ``prefix``, with the prefix removed."""
    out = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not out:
        found = sorted({k.split('.')[0] + '.' for k in state})
        raise CheckpointError(f'{path}: no weights under {prefix!r} (prefixes found: '
                              f'{", ".join(found)})')
    return out


# where mm_ssl checkpoints hold an image encoder: SimIPU's image branch, else an image method's
# encoder (SimCLR, MoCo, ...); a LiDAR method's ``encoder.`` is a VoxelBackBone8x (no conv1)
IMAGE_ENCODER_PREFIXES = ('image_encoder.', 'encoder.')

# where checkpoints hold the point encoder: every method's ``encoder.``; SimIPU checkpoints
# written before it joined that contract (2026-12) hold it under ``point_encoder.``
POINT_ENCODER_PREFIXES = ('encoder.', 'point_encoder.')


def point_encoder_state(state: dict, path: str) -> dict:
    """The ``VoxelBackBone8x`` weights of a checkpoint's state dict, found under
    :data:`POINT_ENCODER_PREFIXES`; :class:`CheckpointError` naming ``path`` when none holds a
    point encoder (an image method's ``encoder.`` is a ResNet: no ``conv_input``)."""
    for prefix in POINT_ENCODER_PREFIXES:
        weights = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if 'conv_input.0.weight' in weights:
            return weights
    found = sorted({k.split('.')[0] + '.' for k in state})
    raise CheckpointError(f'{path}: no VoxelBackBone8x point encoder (no conv_input.0.weight '
                          f'under {" or ".join(map(repr, POINT_ENCODER_PREFIXES))}; prefixes '
                          f'found: {", ".join(found)})')


def _is_sparse_conv_weight(name: str, tensor: torch.Tensor) -> bool:
    return tensor.dim() == 5 and name.endswith('weight')


def to_openpcdet(backbone: dict) -> dict:
    """``{'model_state': {'backbone_3d.<name>': ...}}``: what OpenPCDet's ``--pretrained_model``
    reads. Keys already follow VoxelBackBone8x; sparse weights stay in spconv 2.x layout
    (C_out, k, k, k, C_in), the layout OpenPCDet builds with spconv 2."""
    return {'model_state': {f'backbone_3d.{k}': v for k, v in backbone.items()}}


def to_mmdet3d(backbone: dict, prefix: str = 'middle_encoder.') -> dict:
    """``{'state_dict': {'middle_encoder.<name>': ...}}`` with mmdet3d's SparseEncoder names
    (``convN.j`` -> ``encoder_layers.encoder_layerN.j``) and sparse weights in spconv 1.x layout
    (k, k, k, C_in, C_out): mmdet3d converts that layout to spconv 2 for any checkpoint without
    version-2 metadata, which a re-keyed dict cannot carry (``prefix='pts_middle_encoder.'`` for
    multi-modal detectors)."""
    out = {}
    for name, tensor in backbone.items():
        for old, new in _MMDET3D_STAGES.items():
            if name.startswith(old):
                name = new + name[len(old):]
                break
        if _is_sparse_conv_weight(name, tensor):
            tensor = tensor.permute(1, 2, 3, 4, 0).contiguous()   # (O,k,k,k,I) -> (k,k,k,I,O)
        out[prefix + name] = tensor
    return {'state_dict': out}


def to_torchvision(encoder: dict) -> dict:
    """A plain torchvision ResNet state dict (``fc`` is absent: load with ``strict=False``)."""
    if not any(re.match(r'layer\d\.', k) for k in encoder):
        raise ValueError('the image encoder is not a torchvision ResNet (no layerN keys)')
    return dict(encoder)
