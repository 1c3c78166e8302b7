"""Temporal pretext tasks vs plain clip contrastive learning vs random init, in one run.

Each method's config under configs/video/ is pretrained for the same CPU-time budget (same
encoder: the small 3D CNN, same batch size) on a freshly generated synthetic video set, then its
frozen encoder is evaluated: retrieval recall@1/5 (test videos against train videos, mean
feature of 5 uniform clips each) and linear-probe accuracy on video-mean features.

    OMP_NUM_THREADS=2 python benchmarks/video_tasks.py --budget 40 [--methods vcop taco-simclr]
"""
import argparse
import os.path as osp
import sys
import tempfile
import time
from typing import NamedTuple

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
from data_prep.make_synthetic_videos import make_synthetic_videos  # noqa: E402
from mm_ssl.evaluation.video import evaluate_video  # noqa: E402
from mm_ssl.registry import MODELS  # noqa: E402


class VideoMethod(NamedTuple):
    label: str    # as the printed table names it
    config: str   # under configs/video/


# keys: the names --methods (and tools/demo_video.py --task) take, lower-case and without spaces
# so that a shell passes each as one word
METHODS = {
    'simclr-clip': VideoMethod('SimCLR (clips)', 'simclr_small3dcnn_synthetic-videos.py'),
    'time-contrastive': VideoMethod('time-contrastive', 'tcn_small3dcnn_synthetic-videos.py'),
    'shuffle-learn': VideoMethod('Shuffle and Learn',
                                 'shuffle-learn_small3dcnn_synthetic-videos.py'),
    'opn': VideoMethod('OPN', 'opn_small3dcnn_synthetic-videos.py'),
    'vcop': VideoMethod('VCOP', 'vcop_small3dcnn_synthetic-videos.py'),
    'taco-simclr': VideoMethod('TaCo (SimCLR)', 'taco_small3dcnn_synthetic-videos.py'),
}


# the whole small set stays decoded and open: the budget measures learning, not re-decoding
CACHE = dict(frame_cache=dict(memory_frames=20000), max_open_readers=1000)


def load_config(name: str, data_root: str, batch_size: int) -> Config:
    cfg = Config.fromfile(osp.join(ROOT, 'configs/video', name))
    cfg.train_dataloader.dataset.update(data_root=data_root, **CACHE)
    cfg.train_dataloader.update(batch_size=batch_size, num_workers=0)
    cfg.train_dataloader.pop('persistent_workers', None)
    return cfg


def eval_loaders(cfg: Config, data_root: str, clip_len: int):
    test = dict(cfg.test_dataset, data_root=data_root, clip_len=clip_len, frame_interval=1,
                on_bad_sample='raise', **CACHE)
    loaders = []
    for ann in ('trainlist01.txt', 'testlist01.txt'):
        loaders.append(Runner.build_dataloader(dict(
            batch_size=16, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'), dataset=dict(test, ann_file=ann))))
    return loaders


def pretrain(model, cfg: Config, budget_s: float, lr: float) -> tuple[int, float, float]:
    """SGD steps until this process has used ``budget_s`` CPU seconds (decoding included).
    CPU time, not wall time: the budget stays the same when other processes share the cores.
    Returns the steps and the mean pretext loss of the first and of the last 10% of them."""
    loader = Runner.build_dataloader(cfg.train_dataloader)
    if len(loader) == 0:
        raise SystemExit(f'error: {len(loader.dataset)} training videos, fewer than a batch')
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    model.train()
    losses, start = [], time.process_time()
    while time.process_time() - start < budget_s:
        for batch in loader:
            data = model.data_preprocessor(batch, training=True)
            loss = model(data['inputs'], data['data_samples'], mode='loss')['loss']
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if time.process_time() - start >= budget_s:
                break
    tenth = max(1, len(losses) // 10)
    return len(losses), sum(losses[:tenth]) / tenth, sum(losses[-tenth:]) / tenth


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--budget', type=float, default=40,
                        help='pretraining CPU seconds per method (all threads)')
    parser.add_argument('--videos', type=int, default=60)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--lr', type=float, default=0.05)
    parser.add_argument('--methods', nargs='*', choices=list(METHODS), default=list(METHODS),
                        metavar='METHOD', help=f'any of {", ".join(METHODS)} (default: all)')
    parser.add_argument('--data-root', help='existing synthetic set (default: generate one)')
    args = parser.parse_args(argv)
    init_default_scope('mm_ssl')
    tmp = tempfile.TemporaryDirectory()
    data_root = args.data_root or osp.join(tmp.name, 'videos')
    if not args.data_root:
        make_synthetic_videos(data_root, videos=args.videos, size=48, seconds=2.0, verbose=False)
    rows = []
    first = load_config(METHODS['simclr-clip'].config, data_root, args.batch_size)
    clip_len = 8
    train_loader, test_loader = eval_loaders(first, data_root, clip_len)
    for method in [None] + args.methods:   # None: the randomly initialised encoder
        name = METHODS[method].label if method else 'random init'
        cfg = load_config(METHODS[method].config, data_root, args.batch_size) if method else first
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        start = time.perf_counter()
        steps, loss = 0, '-'
        if method:
            steps, loss_first, loss_last = pretrain(model, cfg, args.budget, args.lr)
            loss = f'{loss_first:.2f} -> {loss_last:.2f}'
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        result = evaluate_video(model, train_loader, test_loader, ks=(1, 5))
        eval_s = time.perf_counter() - start
        rows.append((name, steps, loss, result))
        print(f'{name}: {steps} steps in {train_s:.0f} s, eval {eval_s:.0f} s, '
              f'{result}', flush=True)
    print(f'\n{args.videos} synthetic videos (48 px, 10 motion classes), Small3DCNN, batch '
          f'{args.batch_size}, {args.budget:.0f} CPU-s pretraining per method, {clip_len}-frame '
          f'eval clips (5 per video), torch threads {torch.get_num_threads()}\n')
    print('| method | steps | pretext loss (first -> last 10%) | retrieval R@1 | retrieval R@5 '
          '| linear (video) | linear (clip) |')
    print('|---|---|---|---|---|---|---|')
    for name, steps, loss, r in rows:
        print(f'| {name} | {steps} | {loss} | {r["recall@1"]:.1f} | {r["recall@5"]:.1f} | '
              f'{r["linear_video"]:.1f} | {r["linear_clip"]:.1f} |')
    return rows


if __name__ == '__main__':
    main()
