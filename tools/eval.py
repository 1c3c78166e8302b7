"""Evaluate a pretrained encoder with a frozen-feature protocol:

    python tools/eval.py CONFIG CHECKPOINT --protocol {knn,linear}

Prints the top-1 accuracy and writes it as JSON next to the checkpoint
(``<checkpoint>.<protocol>.json``). CHECKPOINT ``random`` evaluates the randomly initialised
encoder (the baseline every SSL number should beat)."""
import argparse
import json
import os.path as osp

from mm_ssl.engine.cli import DictAction, check_writable, exit_on_error, load_config
from mm_ssl.evaluation import build_model, evaluate


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--protocol', choices=['knn', 'linear'], default='knn')
    parser.add_argument('--k', type=int, default=200)
    parser.add_argument('--temperature', type=float, default=0.07)
    parser.add_argument('--epochs', type=int, default=100, help='linear probe epochs')
    parser.add_argument('--out', help='JSON path (default: next to the checkpoint)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    args = parser.parse_args(argv)

    cfg = load_config(args.config, args.cfg_options)
    random_init = args.checkpoint == 'random'
    model = build_model(cfg, None if random_init else args.checkpoint)
    out = args.out or (f'{args.config}.random.{args.protocol}.json' if random_init
                       else f'{args.checkpoint}.{args.protocol}.json')
    check_writable(osp.dirname(osp.abspath(out)), 'output folder')   # before the evaluation
    results = evaluate(cfg, model, [args.protocol], args.k, args.temperature, args.epochs)
    top1 = results[f'{args.protocol}_top1']
    print(f'{args.protocol} top-1: {top1:.2f}%  ({results["num_train"]} train / '
          f'{results["num_test"]} test samples, {results["feature_dim"]}-d features)')
    record = dict(results, protocol=args.protocol, top1=top1, config=osp.abspath(args.config),
                  checkpoint=None if random_init else osp.abspath(args.checkpoint))
    if args.protocol == 'knn':
        record.update(k=args.k, temperature=args.temperature)
    else:
        record.update(epochs=args.epochs)
    with open(out, 'w') as f:
        json.dump(record, f, indent=2)
    print(f'wrote {out}')
    return record


if __name__ == '__main__':
    with exit_on_error():
        main()
