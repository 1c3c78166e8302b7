"""How far full fine-tuning moves the point encoder from where it started: ``|W - W0| / |W0|``
over all conv weights and per layer, for a random start and for pretrained ones, with the
fine-tuning of ``benchmarks/transfer_det3d.py`` (one seed).

    python benchmarks/finetune_drift.py --pretrained SimIPU=work_dirs/demo/simipu/epoch_4.pth \
        [--iters 150] [--labelled-frames 16] [--encoder-lr-mult 1.0]
"""

import torch

from mm_ssl.engine.cli import exit_on_error, load_config
from mm_ssl.evaluation.det3d import (VoxelCenterDetector, finetune,
                                     load_labelled_frames)
from transfer_det3d import finetune_parser, starting_encoders


def drift(detector, frames, iters, seed, encoder_lr_mult):
    """Relative change of every conv weight (dim > 1) of the encoder: overall and per top-level
    layer (``conv_input``, ``conv1`` .. ``conv4``, ``conv_out``)."""
    start = {k: v.detach().clone() for k, v in detector.encoder.named_parameters() if v.dim() > 1}
    finetune(detector, frames, iters=iters, seed=seed, encoder_lr_mult=encoder_lr_mult,
             log=lambda *_: None)
    now = dict(detector.encoder.named_parameters())
    moved = {k: (now[k].detach() - w0).norm() ** 2 for k, w0 in start.items()}
    norm = {k: w0.norm() ** 2 for k, w0 in start.items()}
    layers = {}
    for k in start:
        layer = layers.setdefault(k.split('.')[0], [0.0, 0.0])
        layer[0] += moved[k]
        layer[1] += norm[k]
    overall = (sum(moved.values()) / sum(norm.values())).sqrt().item()
    return overall, {name: (m / n).sqrt().item() for name, (m, n) in layers.items()}


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
        rows.append((name, *drift(detector, frames, args.iters, args.seed, args.encoder_lr_mult)))
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
