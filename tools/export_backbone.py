"""Export a pretrained encoder for a detection / downstream codebase:

    python tools/export_backbone.py CKPT --format {openpcdet,mmdet3d,torchvision} --out F

openpcdet:   {'model_state': {'backbone_3d.*'}}  -> OpenPCDet --pretrained_model F
mmdet3d:     {'state_dict': {'middle_encoder.*'}} -> load_from / init_cfg checkpoint
torchvision: a ResNet state dict                   -> resnet50().load_state_dict(sd, strict=False)

The point encoder is the ``VoxelBackBone8x`` under ``encoder.*`` (LiDAR methods; ``point_encoder.*``
in SimIPU checkpoints of before 2026-12), the image encoder is read from ``image_encoder.*``
(SimIPU) or ``encoder.*`` (image methods); ``--prefix`` picks another."""
import argparse
import os
import os.path as osp

import torch

from mm_ssl.engine.cli import exit_on_error
from mm_ssl.errors import CheckpointError
from mm_ssl.fileio import atomic_path
from mm_ssl.models.checkpoint import read_checkpoint
from mm_ssl.models.export import (IMAGE_ENCODER_PREFIXES, point_encoder_state, sub_state,
                                  to_mmdet3d, to_openpcdet, to_torchvision)

CONVERTERS = {'openpcdet': to_openpcdet, 'mmdet3d': to_mmdet3d, 'torchvision': to_torchvision}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint')
    parser.add_argument('--format', choices=sorted(CONVERTERS), required=True)
    parser.add_argument('--out', required=True)
    parser.add_argument('--prefix', help='module prefix of the encoder in the checkpoint')
    args = parser.parse_args(argv)

    state = read_checkpoint(args.checkpoint)
    if args.prefix:
        prefix, encoder = args.prefix, sub_state(state, args.prefix, args.checkpoint)
    elif args.format == 'torchvision':
        prefix = next((p for p in IMAGE_ENCODER_PREFIXES if any(k.startswith(p) for k in state)),
                      IMAGE_ENCODER_PREFIXES[0])
        encoder = sub_state(state, prefix, args.checkpoint)
    else:
        prefix, encoder = 'the point encoder ', point_encoder_state(state, args.checkpoint)
    try:
        exported = CONVERTERS[args.format](encoder)
    except ValueError as exc:
        raise CheckpointError(f'{args.checkpoint}: {exc}') from None
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with atomic_path(args.out) as tmp:   # never leave a half-written export behind
        torch.save(exported, tmp)
    tensors = next(iter(exported.values())) if args.format != 'torchvision' else exported
    print(f'wrote {args.out}: {len(tensors)} tensors from {prefix}* ({args.format})')


if __name__ == '__main__':
    with exit_on_error():
        main()
