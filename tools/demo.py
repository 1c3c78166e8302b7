"""The demo behind ``make demo``: SimCLR pretraining on scikit-learn's digits (embedded, real
data), then kNN and linear-probe accuracy of the pretrained encoder against the same encoder
randomly initialised, and the training curves as a PNG. Re-running resumes from the work dir."""
import argparse
import json
import os.path as osp
import time

from mm_ssl.engine import SSLRunner
from mm_ssl.engine.cli import exit_on_error, load_config
from mm_ssl.evaluation import build_model, evaluate

DEFAULT_CONFIG = 'configs/simclr/simclr_resnet18_1xb256-20e_digits.py'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--epochs', type=int, help='shorter or longer pretraining (cosine '
                        'schedule shortened to match)')
    args = parser.parse_args(argv)

    cfg = load_config(args.config)
    if args.epochs:
        cfg.train_cfg.max_epochs = cfg.param_scheduler[-1].end = args.epochs
        cfg.train_cfg.val_interval = min(cfg.train_cfg.val_interval, args.epochs)
    cfg.work_dir, cfg.resume = osp.join(args.work_dir, 'simclr_digits'), True
    start = time.time()
    print(f'[1/3] SimCLR pretraining on digits ({cfg.train_cfg.max_epochs} epochs) '
          f'-> {cfg.work_dir}', flush=True)
    runner = SSLRunner.from_cfg(cfg)
    runner.train()
    checkpoint = osp.join(cfg.work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')
    train_minutes = (time.time() - start) / 60

    print('[2/3] frozen-encoder evaluation: pretrained vs random init', flush=True)
    rows = {}
    for name, ckpt in (('random init', None), ('SimCLR', checkpoint)):
        rows[name] = evaluate(cfg, build_model(cfg, ckpt), verbose=False)

    from plot_logs import plot
    curves = plot(cfg.work_dir, osp.join(args.work_dir, 'simclr_digits_curves.png'))
    print('[3/3] results (digits test split, top-1 %)\n')
    print('| encoder (ResNet-18) | kNN (k=200) | linear probe |')
    print('|---------------------|-------------|--------------|')
    for name, r in rows.items():
        print(f'| {name:<19} | {r["knn_top1"]:11.2f} | {r["linear_top1"]:12.2f} |')
    print(f'\npretraining took {train_minutes:.1f} min; curves: {curves}')
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(dict(config=args.config, checkpoint=checkpoint, results=rows,
                       pretrain_minutes=train_minutes), f, indent=2)
    return rows


if __name__ == '__main__':
    with exit_on_error():
        main()
