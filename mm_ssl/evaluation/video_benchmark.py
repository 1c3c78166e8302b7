"""Temporal pretext tasks against plain clip contrastive learning and random init, on one
synthetic motion-video set, each for the same CPU-time budget: the loop behind
``benchmarks/video_tasks.py`` (all methods) and ``tools/demo.py --task video`` (one).

Each method's config under ``configs/video/`` is pretrained for the same CPU-time budget (same
encoder: the small 3D CNN, same batch size, the learning rate of its config scaled linearly to
the batch, warmed up over the first 10% of the budget and decayed by a cosine), then its frozen
encoder is evaluated: retrieval recall@1/5 (test videos against train videos, mean feature of 5
uniform 8-frame clips each) and linear-probe accuracy on video-mean and on clip features, and the
same retrieval and video probe on each video's feature change over time (Δ R@1, Δ linear:
:func:`~mm_ssl.evaluation.video.feature_change`), where a representation of the moving object's
state, which order tasks learn, holds the motion that the mean over a video averages away.
Frame-level methods (time-contrastive, Shuffle and Learn, OPN: trained on single frames) are
evaluated frame by frame, and so is the random-init encoder they are compared with
(``random init (frames)``). The pretext task's own accuracy is measured on the training videos
and on the held-out test videos (fixed draws, eval mode): a task learnt by memorising each
training video's timeline scores high on the first only.

Each seed draws the initial weights and the training samples; every method's seed is compared
with the random-init encoder of the same seed (paired gain, mean ± std over the seeds).
"""
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mm_ssl.registry import MODELS
from mm_ssl.synthetic.video import CLASSES, write_video_set

from .video import evaluate_video

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / 'video'


class VideoMethod(NamedTuple):
    label: str    # as the printed table names it
    config: str   # under configs/video/


# keys: the names benchmarks/video_tasks.py --methods and tools/demo.py --video-method take,
# lower-case and without spaces so that a shell passes each as one word
METHODS = {
    'simclr-clip': VideoMethod('SimCLR (clips)', 'simclr_small3dcnn_synthetic-videos.py'),
    'time-contrastive': VideoMethod('time-contrastive', 'tcn_small3dcnn_synthetic-videos.py'),
    'shuffle-learn': VideoMethod('Shuffle and Learn',
                                 'shuffle-learn_small3dcnn_synthetic-videos.py'),
    'opn': VideoMethod('OPN', 'opn_small3dcnn_synthetic-videos.py'),
    'vcop': VideoMethod('VCOP', 'vcop_small3dcnn_synthetic-videos.py'),
    'taco-simclr': VideoMethod('TaCo (SimCLR)', 'taco_small3dcnn_synthetic-videos.py'),
    'taco-moco': VideoMethod('TaCo (MoCo)', 'taco-moco_small3dcnn_synthetic-videos.py'),
    'taco-byol': VideoMethod('TaCo (BYOL)', 'taco-byol_small3dcnn_synthetic-videos.py'),
}
RANDOM_INIT = {False: 'random init (clips)', True: 'random init (frames)'}
SUPERVISED = 'supervised (labels)'
# the generated set: 2 s at 16 fps = 32 frames (VCOP's 3 clips of 8 with gaps of 4 and TaCo's 4x
# speed need 32), so that the object moves ~0.35 px (MoveRightFast ~0.7 px) per frame; the eval
# clips take every 4th frame (8 frames spanning 29 of the 32) so each shows the motion
FPS, EVAL_INTERVAL = 16, 4
METRICS = ('recall@1', 'recall@5', 'linear_video', 'linear_clip', 'change_recall@1',
           'change_linear')
# the table's metrics (all of METRICS go to the log), each with its paired gain over random init
TABLE_METRICS = {'recall@1': 'R@1', 'linear_video': 'linear', 'change_recall@1': 'Δ R@1',
                 'change_linear': 'Δ linear'}


# the whole small set stays decoded and open: the budget measures learning, not re-decoding
CACHE = dict(frame_cache=dict(memory_frames=40000), max_open_readers=1000)


def load_config(name: str, data_root: str, batch_size: int) -> Config:
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    cfg.train_dataloader.dataset.update(data_root=data_root, **CACHE)
    cfg.train_dataloader.update(batch_size=batch_size, num_workers=0)
    cfg.train_dataloader.pop('persistent_workers', None)
    return cfg


def config_lr(name: str, batch_size: int) -> float:
    """The config's SGD learning rate, scaled linearly from its batch size to ``batch_size``."""
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    return cfg.optim_wrapper.optimizer.lr * batch_size / cfg.train_dataloader.batch_size


def frame_level(name: str) -> bool:
    """Whether the config's method trains on single frames (and is evaluated frame by frame)."""
    model_type = Config.fromfile(str(CONFIG_DIR / name)).model.type
    return bool(getattr(MODELS.get(model_type), 'frame_level', False))


def eval_loaders(cfg: Config, data_root: str, clip_len: int):
    test = dict(cfg.test_dataset, data_root=data_root, clip_len=clip_len,
                frame_interval=EVAL_INTERVAL,
                on_bad_sample='raise', **CACHE)
    loaders = []
    for ann in ('trainlist01.txt', 'testlist01.txt'):
        loaders.append(Runner.build_dataloader(dict(
            batch_size=16, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'), dataset=dict(test, ann_file=ann))))
    return loaders


def lr_factor(done: float, warmup: float = 0.1) -> float:
    """Linear warm-up over the first ``warmup`` of the budget, then a cosine decay to 0."""
    if done < warmup:
        return 0.01 + 0.99 * done / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (done - warmup) / (1 - warmup))))


def pretrain(model, cfg: Config, budget_s: float, lr: float,
             loss_fn=None, params=None) -> tuple[int, float, float]:
    """SGD steps until this process has used ``budget_s`` CPU seconds (decoding included).
    CPU time, not wall time: the budget stays the same when other processes share the cores.
    Returns the steps and the mean pretext loss of the first and of the last 10% of them.
    ``loss_fn(data)`` (default: the model's own loss) and ``params`` (default: the model's)
    replace the objective (:func:`supervised`)."""
    loader = Runner.build_dataloader(cfg.train_dataloader)
    if len(loader) == 0:
        raise SystemExit(f'error: {len(loader.dataset)} training videos, fewer than a batch')
    if loss_fn is None:
        def loss_fn(data):
            return model(data['inputs'], data['data_samples'], mode='loss')['loss']
    params = list(model.parameters()) if params is None else params
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=5e-4)
    model.train()
    losses, start = [], time.process_time()
    while time.process_time() - start < budget_s:
        for batch in loader:
            for group in opt.param_groups:
                group['lr'] = lr * lr_factor((time.process_time() - start) / budget_s)
            loss = loss_fn(model.data_preprocessor(batch, training=True))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if time.process_time() - start >= budget_s:
                break
    if not losses:
        return 0, math.nan, math.nan
    tenth = max(1, len(losses) // 10)
    return len(losses), sum(losses[:tenth]) / tenth, sum(losses[-tenth:]) / tenth


def supervised(model, cfg: Config, budget_s: float, lr: float,
               num_classes: int) -> tuple[int, float, float]:
    """The supervised reference of the table: ``model``'s encoder and a linear head trained
    with the class labels (cross-entropy) on the training clips of ``cfg`` (its first augmented
    view) for the same CPU budget and schedule as the self-supervised methods; the encoder is
    then evaluated frozen like theirs. What it does not reach, no pretext task can be expected
    to give the linear probe: it checks that the set holds a cue this encoder can learn."""
    head = torch.nn.Linear(model.encoder.feat_dim, num_classes)

    def loss_fn(data):
        x = data['inputs'][0] if isinstance(data['inputs'], list) else data['inputs']
        label = torch.as_tensor(data['data_samples']['label']).long()
        return torch.nn.functional.cross_entropy(head(model.encoder(x)), label)
    return pretrain(model, cfg, budget_s, lr, loss_fn,
                    list(model.encoder.parameters()) + list(head.parameters()))


@torch.no_grad()
def pretext_accuracy(model, cfg: Config, ann_file: str, seed: int = 0) -> float:
    """Mean of the method's ``acc_*`` outputs (order class, time-contrastive positive, TaCo's
    transformation heads) over one pass of its training samples drawn from the videos of
    ``ann_file``, without augmentation, in eval mode, with fixed draws; NaN for methods without
    one (SimCLR)."""
    dataset = dict(cfg.train_dataloader.dataset, ann_file=ann_file, on_bad_sample='raise')
    loader = Runner.build_dataloader(dict(
        batch_size=16, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate'), dataset=dataset))
    was_training = model.training
    model.eval()
    correct, total = 0.0, 0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for batch in loader:
            inputs = model.data_preprocessor(batch, training=False)['inputs']
            accs = [v for k, v in model.compute_loss([inputs])[0].items() if k.startswith('acc')]
            if not accs:
                model.train(was_training)
                return math.nan
            correct += float(sum(accs) / len(accs)) * len(inputs)
            total += len(inputs)
    model.train(was_training)
    return correct / total


def mean_std(values) -> tuple[float, float]:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def fmt(values, digits=1, sign='') -> str:
    """'mean ± std' of ``values``; ``sign='+'`` writes the sign of a positive mean too."""
    mean, std = mean_std(values)
    return '–' if math.isnan(mean) else f'{mean:{sign}.{digits}f} ± {std:.{digits}f}'


def evaluated(model, train_loader, test_loader, per_frame=None, **run) -> dict:
    """One row of the results: ``run``'s fields and the frozen encoder's retrieval / linear
    results (``per_frame`` as :func:`~mm_ssl.evaluation.video.extract_clip_features`)."""
    result = evaluate_video(model, train_loader, test_loader, ks=(1, 5), per_frame=per_frame)
    per_frame = bool(getattr(model, 'frame_level', False)) if per_frame is None else per_frame
    return dict(result, per_frame=per_frame, **run)


def compare_video_methods(methods=tuple(METHODS), budget_s: float = 120, seeds: int = 3,
                          videos: int = 800, batch_size: int = 8, lr: float | None = None,
                          data_root: str | None = None, with_supervised: bool = False,
                          log=print) -> dict[str, list[dict]]:
    """Pretrain each of ``methods`` (keys of :data:`METHODS`) for ``budget_s`` CPU seconds per
    seed and evaluate it frozen beside the random-init encoder of the same seed (in each
    evaluation mode the methods need) and, with ``with_supervised``, the supervised reference
    (:func:`supervised`).

    Args:
        videos: size of the synthetic set generated into a temporary directory (70% train),
            unless ``data_root`` names an existing UCF101-layout set.
        lr: one SGD learning rate for every method (default: each config's, scaled linearly to
            ``batch_size``).

    Returns:
        ``{row name: [one dict per seed]}``: recall@1 / recall@5 / linear_video / linear_clip,
        steps, loss (first, last 10%), pretext acc (train, held-out), cpu and wall seconds,
        per_frame; rows named as :func:`results_table` prints them.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f'unknown video method(s) {unknown}; choose from {list(METHODS)}')
    init_default_scope('mm_ssl')
    tmp = tempfile.TemporaryDirectory()
    if not data_root:
        data_root = str(Path(tmp.name) / 'videos')
        write_video_set(data_root, videos=videos, size=48, seconds=2.0, fps=FPS, verbose=False)
    base = load_config(METHODS['simclr-clip'].config, data_root, batch_size)
    train_loader, test_loader = eval_loaders(base, data_root, clip_len=8)
    log(f'{len(train_loader.dataset)} train / {len(test_loader.dataset)} test videos in '
        f'{data_root}')
    no_run = dict(steps=0, loss=(math.nan, math.nan), acc=(math.nan, math.nan))

    results = {}
    frame_modes = {frame_level(METHODS[m].config) for m in methods}
    if with_supervised or not frame_modes:
        frame_modes.add(False)
    for per_frame in sorted(frame_modes):   # the random-init encoder, in each mode needed
        for seed in range(seeds):
            torch.manual_seed(seed)
            start = time.process_time()
            row = evaluated(MODELS.build(base.model), train_loader, test_loader, per_frame,
                            **no_run)
            row['cpu'] = time.process_time() - start
            results.setdefault(RANDOM_INIT[per_frame], []).append(row)
            log(f'{RANDOM_INIT[per_frame]}, seed {seed}: {row}')
    runs = [(SUPERVISED, base, None)] if with_supervised else []
    runs += [(METHODS[m].label, load_config(METHODS[m].config, data_root, batch_size),
              METHODS[m].config) for m in methods]
    for name, cfg, config in runs:
        method_lr = lr or config_lr(config or METHODS['simclr-clip'].config, batch_size)
        for seed in range(seeds):
            torch.manual_seed(seed)
            model = MODELS.build(cfg.model)
            cpu, wall = time.process_time(), time.perf_counter()
            if config is None:
                steps, first, last = supervised(model, cfg, budget_s, method_lr, len(CLASSES))
                acc = (math.nan, math.nan)
            else:
                steps, first, last = pretrain(model, cfg, budget_s, method_lr)
            train_s = time.perf_counter() - wall
            if config is not None:
                acc = (pretext_accuracy(model, cfg, 'trainlist01.txt'),
                       pretext_accuracy(model, cfg, 'testlist01.txt'))
            row = evaluated(model, train_loader, test_loader, per_frame=False if config is None
                            else None, steps=steps, loss=(first, last), acc=acc)
            row.update(cpu=time.process_time() - cpu, wall=time.perf_counter() - wall)
            results.setdefault(name, []).append(row)
            log(f'{name}, seed {seed}, lr {method_lr:.4g}: {steps} steps in {train_s:.0f} s wall,'
                f' loss {first:.3f} -> {last:.3f}, pretext accuracy train {acc[0]:.1f} / '
                f'held-out {acc[1]:.1f}, ' + ', '.join(f'{k} {row[k]:.1f}' for k in METRICS))
    return results


def results_table(results: dict[str, list[dict]]) -> str:
    """The markdown table of :func:`compare_video_methods`'s results: mean ± std over the seeds,
    gains paired with the random init of the same seed and evaluation mode. R@1 and linear use
    each video's mean feature, Δ R@1 and Δ linear its feature change over time
    (:func:`~mm_ssl.evaluation.video.feature_change`)."""
    names = list(TABLE_METRICS.values())
    lines = ['| method | eval | steps | pretext loss (first → last 10%) | pretext acc train / '
             'held-out | ' + ' | '.join(names) + ' | '
             + ' | '.join(f'gain {name}' for name in names) + ' | CPU-s |',
             '|---|---|---:|---|---|' + '---:|' * (2 * len(names) + 1)]
    for name, runs in results.items():
        per_frame = runs[0]['per_frame']
        reference = results.get(RANDOM_INIT[per_frame])
        gains = ['–'] * len(names)
        if not name.startswith('random init') and reference:
            gains = [fmt([run[key] - ref[key] for run, ref in zip(runs, reference)], sign='+')
                     for key in TABLE_METRICS]
        loss = '–' if not runs[0]['steps'] else \
            f'{fmt([r["loss"][0] for r in runs], 2)} → {fmt([r["loss"][1] for r in runs], 2)}'
        acc = '–' if math.isnan(mean_std([r['acc'][1] for r in runs])[0]) else \
            f'{fmt([r["acc"][0] for r in runs])} / {fmt([r["acc"][1] for r in runs])}'
        lines.append(f'| {name} | {"frames" if per_frame else "clips"} | '
                     f'{statistics.fmean(r["steps"] for r in runs):.0f} | {loss} | {acc} | '
                     + ' | '.join(fmt([r[key] for r in runs]) for key in TABLE_METRICS)
                     + f' | {" | ".join(gains)} | {sum(r["cpu"] for r in runs):.0f} |')
    return '\n'.join(lines)
