"""Every image method with a digits config, pretrained for the same short budget through the real
training path (``SSLRunner`` on the method's own config), then evaluated with its encoder frozen
on the digits test split: kNN (k=200) and linear-probe top-1, effective rank (RankMe) of the
encoder features, pretraining steps and time. Two baselines in the same run: each encoder at
random init, and raw pixels (the flattened normalised images the encoders see).

The budget is CPU-seconds of this process (``time.process_time``) per method, not iterations:
methods differ up to several times in cost per step (multi-crop, patch grids, two encoders), and
a budget in compute is what a user spends; CPU time of the process is not inflated by other jobs
on the machine the way wall time is. Every config is shrunk the same way: an iteration loop that
stops once the budget is spent; batches of --batch-size (64: four times more steps than the
configs' 256 in the same budget) with learning rates scaled linearly; the config's optimizer
with its learning rate following a linear warm-up (first 10 % of the budget) and a cosine decay
over the budget's CPU-seconds (the configs' epoch schedules would leave a short run inside their
warm-up); no validation loop, online probe or health hook; no checkpoint but SimCLR's final
one, SEED's teacher (SimCLR always trains first when SEED runs); logging quieted.

    OMP_NUM_THREADS=1 python benchmarks/methods_digits.py --budget 45 --out work_dirs/methods
"""
import argparse
import json
import math
import os
import os.path as osp
import time

import torch
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mm_ssl.engine import SSLRunner
from mm_ssl.engine.cli import load_config
from mm_ssl.evaluation import (build_model, effective_rank, extract_features, knn_accuracy,
                               linear_probe)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RESNET18_DIGITS = 'resnet18_1xb256-100e_digits.py'
CONFIGS = {name: f'{ROOT}/configs/{path}' for name, path in (
    ('simclr', f'simclr/simclr_{RESNET18_DIGITS}'), ('mocov1', f'mocov1/mocov1_{RESNET18_DIGITS}'),
    ('mocov2', f'mocov2/mocov2_{RESNET18_DIGITS}'),
    ('mocov3', 'mocov3/mocov3_vit-tiny_1xb256-100e_digits.py'),
    ('byol', f'byol/byol_{RESNET18_DIGITS}'), ('simsiam', f'simsiam/simsiam_{RESNET18_DIGITS}'),
    ('swav', f'swav/swav_{RESNET18_DIGITS}'), ('dino', f'dino/dino_{RESNET18_DIGITS}'),
    ('instdisc', f'instdisc/instdisc_{RESNET18_DIGITS}'),
    ('invaspread', f'invaspread/invaspread_{RESNET18_DIGITS}'),
    ('simclrv2', f'simclrv2/simclrv2_{RESNET18_DIGITS}'),
    ('directclr', f'directclr/directclr_{RESNET18_DIGITS}'),
    ('dcl', f'dcl/dcl_{RESNET18_DIGITS}'), ('dcw', f'dcl/dcw_{RESNET18_DIGITS}'),
    ('hardneg', f'hardneg/hardneg_{RESNET18_DIGITS}'),
    ('align_uniform', f'align_uniform/align-uniform_{RESNET18_DIGITS}'),
    ('triplet', f'triplet/triplet_{RESNET18_DIGITS}'), ('seed', f'seed/seed_{RESNET18_DIGITS}'),
    ('cpc', f'cpc/cpc_{RESNET18_DIGITS}'), ('cmc', f'cmc/cmc_{RESNET18_DIGITS}'),
    ('rotation', f'rotation/rotation_{RESNET18_DIGITS}'),
    ('relative_position', f'relative_position/relative_position_{RESNET18_DIGITS}'),
    ('jigsaw', f'jigsaw/jigsaw_{RESNET18_DIGITS}'),
    ('colorization', f'colorization/colorization_{RESNET18_DIGITS}'),
    ('context_encoder', f'context_encoder/context_encoder_{RESNET18_DIGITS}'))}


class CPUBudgetHook(Hook):
    """Stops training once ``budget`` CPU-seconds of this process have passed since the first
    iteration began (or after ``max_iters``), with the learning rate warmed up linearly over the
    first ``warmup`` fraction of the budget and decayed by a cosine over the rest. Records the
    loss at every step."""

    priority = 'VERY_HIGH'

    def __init__(self, budget: float, warmup: float = 0.1):
        self.budget, self.warmup = budget, warmup
        self.losses = []

    def before_train(self, runner):
        self.base_lrs = [g['lr'] for g in runner.optim_wrapper.param_groups]
        self.cpu_start, self.wall_start = time.process_time(), time.perf_counter()

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        done = min((time.process_time() - self.cpu_start) / self.budget, 1.0)
        scale = (0.01 + 0.99 * done / self.warmup if done < self.warmup
                 else 0.5 * (1 + math.cos(math.pi * (done - self.warmup) / (1 - self.warmup))))
        for group, lr in zip(runner.optim_wrapper.param_groups, self.base_lrs):
            group['lr'] = lr * scale

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses.append(float(outputs['loss'].detach()))
        if not math.isfinite(self.losses[-1]):
            raise FloatingPointError(f'loss is {self.losses[-1]} at step {len(self.losses)}')
        if time.process_time() - self.cpu_start >= self.budget:
            runner.train_loop.stop_training = True

    def after_train(self, runner):
        self.cpu_s = time.process_time() - self.cpu_start
        self.wall_s = time.perf_counter() - self.wall_start


def training_config(name: str, work_dir: str, max_iters: int, batch_size: int,
                    teacher: str | None):
    """The method's digits config, shrunk the same way for every method (see the docstring)."""
    cfg = load_config(CONFIGS[name])
    cfg.optim_wrapper.optimizer.lr *= batch_size / cfg.train_dataloader.batch_size
    cfg.train_dataloader.batch_size = batch_size
    cfg.model.online_probe = None            # it reads labels and never touches the encoder
    cfg.work_dir = osp.join(work_dir, name)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
    cfg.param_scheduler = None
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', [])
                        if h['type'] != 'RepresentationHealthHook']
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 1
    cfg.log_processor = dict(window_size=1, by_epoch=False)
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.log_level = 'WARNING'
    if name == 'seed':
        cfg.model.teacher_checkpoint = teacher
    return cfg


def frozen_features(model, cfg):
    """Encoder features and labels of the train (memory) and test splits, model in eval mode."""
    train = extract_features(model, Runner.build_dataloader(cfg.val_cfg.memory_dataloader))
    test = extract_features(model, Runner.build_dataloader(cfg.val_dataloader))
    return train, test


class RawPixels(torch.nn.Module):
    """The baseline 'encoder': the flattened normalised images from ``model``'s preprocessor."""

    def __init__(self, model):
        super().__init__()
        self.data_preprocessor = model.data_preprocessor

    def forward(self, inputs, mode='tensor'):
        return inputs.flatten(1)


def score(train, test, linear_epochs: int) -> dict:
    (train_feats, train_labels), (test_feats, test_labels) = train, test
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    return dict(knn_top1=knn_accuracy(train_feats, train_labels, test_feats, test_labels,
                                      num_classes, 200, 0.07),
                linear_top1=linear_probe(train_feats, train_labels, test_feats, test_labels,
                                         num_classes, epochs=linear_epochs),
                rank=effective_rank(test_feats), feature_dim=test_feats.shape[1])


def feature_path(model, cfg) -> str:
    """What the frozen features come from: the encoder config and the method's own feature
    path (CMC concatenates two encoders, SimCLR v2 keeps a projector layer, colorization reads
    the L channel), so that each trained encoder is compared with itself at random init."""
    cls = type(model)
    return f'{cfg.model.encoder!r} {cls.forward.__qualname__} {cls.extract_feat.__qualname__}'


def pretrain(name: str, work_dir: str, budget: float, max_iters: int, batch_size: int,
             teacher: str | None):
    """Train ``name`` for the budget; returns its trained model and the budget hook."""
    cfg = training_config(name, work_dir, max_iters, batch_size, teacher)
    runner = SSLRunner.from_cfg(cfg)
    hook = CPUBudgetHook(budget)
    runner.register_hook(hook)
    runner.train()
    if name == 'simclr':
        runner.save_checkpoint(cfg.work_dir, 'final.pth', save_optimizer=False,
                               save_param_scheduler=False)
    return runner.model, hook


def run(methods, budget: float, work_dir: str, max_iters: int = 100_000, batch_size: int = 64,
        linear_epochs: int = 100, log=print) -> list[dict]:
    """Pretrain and evaluate ``methods``; the rows of the results table, baselines first. A
    method that fails gets a row with its ``error`` and no numbers; the others still run."""
    unknown = sorted(set(methods) - set(CONFIGS))
    if unknown:
        raise ValueError(f'unknown methods {unknown}; choose from {sorted(CONFIGS)}')
    if 'seed' in methods and 'simclr' not in methods:
        methods = ['simclr', *methods]                   # SEED's teacher
    methods = sorted(methods, key=lambda m: (m == 'seed', list(CONFIGS).index(m)))
    eval_cfg = load_config(CONFIGS['simclr'])
    init_default_scope('mm_ssl')
    rows, random_rows = [], {}
    reference = build_model(eval_cfg, device='cpu')
    rows.append(dict(method='raw pixels', encoder='pixels',
                     **score(*frozen_features(RawPixels(reference), eval_cfg), linear_epochs)))
    log(f'raw pixels: kNN {rows[0]["knn_top1"]:.1f}  linear {rows[0]["linear_top1"]:.1f}')
    teacher = osp.join(work_dir, 'simclr', 'final.pth')
    for i, name in enumerate(methods, 1):
        log(f'[{i}/{len(methods)}] {name}: pretraining for {budget:g} CPU-s ...')
        row = dict(method=name)
        try:
            cfg = load_config(CONFIGS[name])
            if name == 'seed':
                cfg.model.teacher_checkpoint = teacher
            untrained = build_model(cfg, device='cpu')
            encoder = feature_path(untrained, cfg)
            if encoder not in random_rows:               # each distinct encoder at random init
                features = frozen_features(untrained, cfg)
                random_rows[encoder] = dict(method=f'random init ({name} encoder)',
                                            encoder=encoder, **score(*features, linear_epochs))
                rows.insert(len(random_rows), random_rows[encoder])
            model, hook = pretrain(name, work_dir, budget, max_iters, batch_size, teacher)
            row.update(encoder=encoder, random_init=random_rows[encoder]['method'],
                       steps=len(hook.losses), cpu_s=hook.cpu_s, wall_s=hook.wall_s,
                       loss_first=hook.losses[0], loss_last=hook.losses[-1],
                       losses=hook.losses, **score(*frozen_features(model, cfg), linear_epochs))
            log(f'    {row["steps"]} steps in {row["cpu_s"]:.0f} CPU-s / {row["wall_s"]:.0f} s, '
                f'loss {row["loss_first"]:.3f} -> {row["loss_last"]:.3f}, kNN '
                f'{row["knn_top1"]:.1f}, linear {row["linear_top1"]:.1f}, rank {row["rank"]:.1f}')
        except Exception as exc:                         # report it and go on with the others
            row['error'] = f'{type(exc).__name__}: {exc}'.splitlines()[0][:300]
            log(f'    FAILED: {row["error"]}')
        rows.append(row)
    return rows


def fmt(value, spec):
    return '—' if value is None else format(value, spec)


def table(rows) -> str:
    lines = ['| method | kNN top-1 | linear top-1 | RankMe (dim) | steps | CPU-s | wall s | '
             'loss first → last |', '|---|---:|---:|---:|---:|---:|---:|---|']
    for r in rows:
        if 'error' in r:
            lines.append(f'| {r["method"]} | failed: {r["error"]} |||||||')
            continue
        loss = (f'{r["loss_first"]:.3f} → {r["loss_last"]:.3f}' if 'loss_first' in r else '')
        lines.append(
            f'| {r["method"]} | {r["knn_top1"]:.1f} | {r["linear_top1"]:.1f} | '
            f'{r["rank"]:.1f} ({r["feature_dim"]}) | {fmt(r.get("steps"), "d")} | '
            f'{fmt(r.get("cpu_s"), ".0f")} | {fmt(r.get("wall_s"), ".0f")} | {loss} |')
    return '\n'.join(lines)


def plot(rows, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = [r for r in rows if 'error' not in r]
    x = torch.arange(len(rows)).numpy()
    fig, ax = plt.subplots(figsize=(max(8, 0.45 * len(rows)), 4.5))
    ax.bar(x - 0.2, [r['knn_top1'] for r in rows], 0.4, label='kNN (k=200)')
    ax.bar(x + 0.2, [r['linear_top1'] for r in rows], 0.4, label='linear probe')
    ax.set_xticks(x, [r['method'] for r in rows], rotation=60, ha='right', fontsize=8)
    ax.set_ylabel('digits test top-1 (%)')
    ax.set_ylim(0, 100)
    ax.grid(axis='y', alpha=0.3)
    ax.legend(loc='lower right')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--methods', nargs='+', default=list(CONFIGS), metavar='METHOD',
                        help=f'subset of: {" ".join(CONFIGS)}')
    parser.add_argument('--budget', type=float, default=45.0,
                        help='CPU-seconds of pretraining per method')
    parser.add_argument('--max-iters', type=int, default=100_000,
                        help='also stop after this many steps')
    parser.add_argument('--batch-size', type=int, default=64,
                        help='pretraining batch for every method (learning rates scaled '
                        'linearly from the configs\' batch of 256)')
    parser.add_argument('--linear-epochs', type=int, default=100)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--out', default='work_dirs/methods_digits')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    start = time.perf_counter()
    rows = run(args.methods, args.budget, osp.join(args.out, 'work_dirs'), args.max_iters,
               args.batch_size, args.linear_epochs)
    minutes = (time.perf_counter() - start) / 60
    load = open('/proc/loadavg').read().split()[:3] if osp.exists('/proc/loadavg') else []
    print(f'\n{table(rows)}\n\nbudget {args.budget:g} CPU-s per method, batch '
          f'{args.batch_size}, {args.threads} '
          f'thread(s); whole run {minutes:.1f} min; load average {" ".join(load)}')
    with open(osp.join(args.out, 'results.json'), 'w') as f:
        json.dump(dict(budget_cpu_s=args.budget, batch_size=args.batch_size, threads=args.threads,
                       minutes=minutes,
                       load_average=load, rows=rows), f, indent=1)
    print(f'chart: {plot(rows, osp.join(args.out, "methods_digits.png"))}')
    return rows


if __name__ == '__main__':
    main()
