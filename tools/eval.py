"""Evaluate a pretrained encoder. This is mm_ssl's test entry: mmpretrain / mmdet3d users looking
for ``tools/test.py`` want this script (there is no test.py).

    python tools/eval.py CONFIG CHECKPOINT [--protocol {knn,linear,det3d,video}]

Image encoders: ``knn`` (the default; InstDisc's weighted vote) or ``linear`` (a probe trained on
frozen features), on the config's own labelled images; prints the top-1 accuracy.
LiDAR encoders (a config whose encoder is a ``VoxelBackBone8x``: SimIPU): ``det3d``, chosen
automatically, fine-tunes the in-suite 3D detector from the checkpoint's point encoder on the
first labelled frames of the config's ``data_root`` (``train`` split) on its voxel grid, scores
it on the ``val`` split and prints BEV / 3D AP per class (mean ± std over seeds), then the
command of the label-efficiency curve of the same checkpoint (``benchmarks/transfer_det3d.py
--label-shares``: 5 / 10 / 20 / 100% of a 600-frame set, both fine-tuning modes).
Video encoders (``configs/video/``): ``video``, chosen automatically, on the config's
``plain_train_dataset`` / ``test_dataset`` (N uniform clips a video): retrieval recall@k of test
videos against train videos, linear probes on clip and on video-mean features, and the encoder
fine-tuned with a linear head (``--finetune-epochs``, 0 skips it); top-1 accuracies in %.

The result is written as JSON next to the checkpoint, named by protocol and settings so that a
rerun with other settings keeps the earlier result: ``<checkpoint>.knn-k200-t0.07.json``,
``<checkpoint>.linear-e100.json``, ``<checkpoint>.det3d-s3-i150-f16.json``,
``<checkpoint>.video-e100-ft5.json``; ``--out`` overrides.
CHECKPOINT ``random`` evaluates the randomly initialised encoder (the baseline every SSL number
should beat) and writes ``work_dirs/<config name>/random.<protocol>-<settings>.json`` (the
config's ``work_dir`` when it sets one)."""
import argparse
import json
import os.path as osp
import shlex

import torch

from mm_ssl.engine.cli import (DictAction, check_writable, exit_on_error, load_config,
                               non_negative_int, positive_float, positive_int)
from mm_ssl.errors import ConfigError
from mm_ssl.evaluation import (build_model, detection_transfer, evaluate, supported_protocols,
                               video_evaluation)
from mm_ssl.evaluation.det3d import mean_and_spread, transfer_table


def torch_device(text: str) -> str:
    """argparse ``type`` for ``--device``: a device torch knows and this machine has, so a typo
    or a missing GPU is refused before the data is read."""
    try:
        device = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f'not a torch device: {text!r}') from None
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f'{text}: CUDA is not available on this machine')
    return text


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='an mm_ssl checkpoint, or random')
    parser.add_argument('--protocol', choices=['knn', 'linear', 'det3d', 'video'],
                        help='default: det3d for a config with a point encoder, video for a '
                             'video config, else knn')
    knn = parser.add_argument_group('knn')
    knn.add_argument('--k', type=positive_int, default=200, help='neighbours that vote')
    knn.add_argument('--temperature', type=positive_float, default=0.07,
                     help='softmax temperature of the votes')
    linear = parser.add_argument_group('linear')
    linear.add_argument('--epochs', type=positive_int, default=100,
                        help='linear probe epochs (also of the video protocol)')
    video = parser.add_argument_group('video')
    video.add_argument('--finetune-epochs', type=non_negative_int, default=5,
                       help='epochs of whole fine-tuning with a linear head (0: skip)')
    det3d = parser.add_argument_group('det3d')
    det3d.add_argument('--seeds', type=positive_int, default=3,
                       help='fine-tuning runs, seeds 0 .. SEEDS - 1')
    det3d.add_argument('--iters', type=positive_int, default=150,
                       help='fine-tuning iterations per run')
    det3d.add_argument('--labelled-frames', type=positive_int, default=16,
                       help='the first N frames of the train split are labelled')
    det3d.add_argument('--frozen-encoder', action='store_true',
                       help='train the head only, on frozen encoder features')
    det3d.add_argument('--device', type=torch_device,
                       default='cuda' if torch.cuda.is_available() else 'cpu',
                       help='where the detector is fine-tuned')
    parser.add_argument('--out', help='JSON path (default: see above)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(argv)


# what a config must have for a protocol (supported_protocols decides)
PROTOCOL_NEEDS = dict(knn='val_cfg.memory_dataloader (labelled images)',
                      linear='val_cfg.memory_dataloader (labelled images)',
                      det3d='a point encoder (a SimIPU config)',
                      video='plain_train_dataset and test_dataset of clips (a video config)')


def choose_protocol(cfg, config_path: str, asked: str | None) -> str:
    """The protocol asked for, or the config's default; a :class:`ConfigError` naming the
    protocols the config supports when the asked one does not apply."""
    supported = supported_protocols(cfg)
    if asked is None and supported:
        return supported[0]
    if asked in supported:
        return asked
    if 'det3d' in supported:
        raise ConfigError(f'{config_path}: a LiDAR config (its encoder is a point encoder): '
                          f'use --protocol det3d, not {asked}')
    if not supported:
        raise ConfigError(f'{config_path}: supports none of eval.py\'s protocols (' + '; '.join(
            f'{name} needs {needs}' for name, needs in PROTOCOL_NEEDS.items()) + ')')
    raise ConfigError(f'{config_path}: {asked} needs {PROTOCOL_NEEDS[asked]}; this config '
                      f'supports {" and ".join(supported)}')


def settings_name(args) -> str:
    """The protocol and the settings its result depends on, as in ``knn-k200-t0.07``."""
    if args.protocol == 'knn':
        return f'knn-k{args.k}-t{args.temperature:g}'
    if args.protocol == 'linear':
        return f'linear-e{args.epochs}'
    if args.protocol == 'video':
        return f'video-e{args.epochs}-ft{args.finetune_epochs}'
    return (f'det3d-s{args.seeds}-i{args.iters}-f{args.labelled_frames}'
            + ('-frozen' if args.frozen_encoder else ''))


def default_out(cfg, args) -> str:
    """Next to the checkpoint; for ``random``, in the config's work dir (never next to the
    config, which is in the source tree)."""
    if args.checkpoint != 'random':
        return f'{args.checkpoint}.{settings_name(args)}.json'
    work_dir = cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    return osp.join(work_dir, f'random.{settings_name(args)}.json')


def classify(cfg, args, checkpoint: str | None) -> dict:
    """kNN or linear top-1 of the config's image encoder, printed; the JSON record's fields."""
    model = build_model(cfg, checkpoint)
    results = evaluate(cfg, model, [args.protocol], args.k, args.temperature, args.epochs)
    top1 = results[f'{args.protocol}_top1']
    print(f'{args.protocol} top-1: {top1:.2f}%  ({results["num_train"]} train / '
          f'{results["num_test"]} test samples, {results["feature_dim"]}-d features)')
    settings = dict(k=args.k, temperature=args.temperature) if args.protocol == 'knn' \
        else dict(epochs=args.epochs)
    return dict(results, top1=top1, **settings)


def detect(cfg, args, checkpoint: str | None) -> dict:
    """Detection transfer of the config's point encoder, printed as a table; the JSON record's
    fields (the mean and spread of BEV / 3D mAP over the seeds, and every run)."""
    results = detection_transfer(cfg, checkpoint, args.seeds, args.iters, args.labelled_frames,
                                 args.frozen_encoder, args.device)
    table = transfer_table(results)
    print(f'\n{table}\n\nmean ± std over {args.seeds} seed(s)')
    pretrained = [] if checkpoint is None else ['--pretrained', checkpoint]
    print('label-efficiency curve (data and GPU commands: its --help): ' + shlex.join([
        'python', 'benchmarks/transfer_det3d.py', '--config', args.config, *pretrained,
        '--data-root', 'data/synthetic_kitti_600', '--label-shares', '5', '10', '20', '100',
        '--both-modes']))
    (runs,) = results.values()
    summary = {}
    for metric in ('bev', '3d'):
        summary[f'{metric}_mAP'], summary[f'{metric}_mAP_std'] = mean_and_spread(
            [ap[metric]['mAP'] for ap in runs['ap']])
    return dict(summary, table=table, runs=runs, seeds=args.seeds, iters=args.iters,
                labelled_frames=args.labelled_frames, frozen_encoder=args.frozen_encoder,
                device=args.device)


def evaluate_videos(cfg, args, checkpoint: str | None) -> dict:
    """The video protocols on the config's videos, printed as a table; the JSON record's
    fields."""
    results = video_evaluation(cfg, build_model(cfg, checkpoint), args.epochs,
                               args.finetune_epochs)
    print(f'{"metric":<16} top-1 / recall (%)   ({results["num_train"]} train / '
          f'{results["num_test"]} test videos)')
    for key, value in results.items():
        if not key.startswith('num_'):
            print(f'{key:<16} {value:6.2f}')
    return dict(results, epochs=args.epochs, finetune_epochs=args.finetune_epochs)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    args.protocol = choose_protocol(cfg, args.config, args.protocol)
    checkpoint = None if args.checkpoint == 'random' else args.checkpoint
    out = args.out or default_out(cfg, args)
    check_writable(osp.dirname(osp.abspath(out)), 'output folder')   # before the evaluation
    evaluation = dict(det3d=detect, video=evaluate_videos).get(args.protocol, classify)
    record = dict(evaluation(cfg, args, checkpoint), protocol=args.protocol,
                  config=osp.abspath(args.config),
                  checkpoint=None if checkpoint is None else osp.abspath(checkpoint))
    with open(out, 'w') as f:
        json.dump(record, f, indent=2)
    print(f'wrote {out}')
    return record


if __name__ == '__main__':
    with exit_on_error():
        main()
