"""How far full fine-tuning moves the point encoder from where it started: ``|W - W0| / |W0|``
over all conv weights and per layer, for a random start and for pretrained ones, with the
fine-tuning of ``benchmarks/transfer_det3d.py`` (one seed).

    python benchmarks/finetune_drift.py --pretrained SimIPU=work_dirs/demo/simipu/epoch_4.pth \
        [--iters 150] [--labelled-frames 16] [--encoder-lr-mult 1.0]
"""

import torch

from mm_ssl.engine.cli import exit_on_error, load_config
from mm_ssl.evaluation.det3d import VoxelCenterDetector, finetune_drift, load_labelled_frames
from transfer_det3d import finetune_parser, starting_encoders


def main(argv=None):
    parser = finetune_parser(__doc__)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)

    pre = load_config(args.config).model.data_preprocessor
    frames = load_labelled_frames(args.data_root, 'train', pre.point_range,
                                  limit=args.labelled_frames)
    rows = []
    for name, state in starting_encoders(args.pretrained).items():
        torch.manual_seed(args.seed)
        detector = VoxelCenterDetector(pre.voxel_size, pre.point_range)
        if state is not None:
            detector.encoder.load_state_dict(state)
        moved = finetune_drift(detector, frames, args.iters, args.seed, args.encoder_lr_mult)
        rows.append((name, *moved))
    layers = list(rows[0][2])
    print(f'|W - W0| / |W0| of the encoder after {args.iters} fine-tuning steps on '
          f'{len(frames)} frames (seed {args.seed}, encoder lr x{args.encoder_lr_mult})\n')
    print('| start | all convs | ' + ' | '.join(layers) + ' |')
    print('|---|---:|' + '---:|' * len(layers))
    for name, overall, per_layer in rows:
        print(f'| {name} | {overall:.2f} | ' + ' | '.join(f'{per_layer[k]:.2f}' for k in layers)
              + ' |')


if __name__ == '__main__':
    with exit_on_error():
        main()
