"""Throughput of mm_ssl's image path.

Augmentation: the batched uint8 ``MultiViewAugment`` (all views of a batch in a few tensor ops)
against torchvision's per-sample PIL pipeline with the same transforms, and against the batched
code called per sample (what a Dataset pipeline does with it). Images are random uint8 RGB
(CIFAR-like, 32x32 by default); the PIL images are made before timing, so PIL is not charged for
the array -> PIL conversion a CIFAR dataset does per item.

Training step: one SimCLR step (ResNet-18 with the CIFAR stem, 32 px, forward + backward + SGD)
in samples/s, with the default (NCHW) memory format and with channels_last.

    python benchmarks/bench_image.py --batch 256 --repeats 5 --step-batch 64
"""
import argparse
import os

import torch
from PIL import Image
from torchvision import transforms as T

from mm_ssl.algorithms import SimCLR
from mm_ssl.transforms import MultiViewAugment
from timing import timeit

RECIPES = {  # 2 views per image each
    'simclr': lambda size: [dict(num=2, size=size)],
    'byol': lambda size: [dict(num=1, size=size, blur_p=1.0),
                          dict(num=1, size=size, blur_p=0.1, solarize_p=0.2)],
}


def pil_pipeline(aug):
    """torchvision's PIL pipeline doing what the ``ViewAugment`` ``aug`` does."""
    p = aug.probs
    return T.Compose([
        T.RandomResizedCrop(aug.size, scale=aug.scale, ratio=aug.ratio),
        T.RandomHorizontalFlip(p['flip']),
        T.RandomApply([T.ColorJitter(*aug.jitter)], p=p['jitter']),
        T.RandomGrayscale(p['gray']),
        T.RandomApply([T.GaussianBlur(aug.kernel_size, aug.blur_sigma)], p=p['blur']),
        T.RandomSolarize(128, p=p['solarize']),
        T.PILToTensor(),
    ])


def bench_augmentation(batch=256, size=32, repeats=5, device='cpu', recipes=('simclr', 'byol')):
    """One row per (recipe, pipeline): ms per batch, images/s (2 views each), speed-up over PIL."""
    device = torch.device(device)
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8, generator=g)
    pils = [Image.fromarray(im.permute(1, 2, 0).numpy()) for im in images]
    images = images.to(device)
    rows = []
    for name in recipes:
        mv = MultiViewAugment(RECIPES[name](size))
        pil_views = [pil_pipeline(aug) for num, aug in mv.groups for _ in range(num)]
        runs = {
            'torchvision PIL, per sample': lambda: [torch.stack([t(im) for im in pils])
                                                    for t in pil_views],
            'mm_ssl, per sample': lambda: [torch.stack(v) for v in
                                           zip(*(mv(im, generator=g) for im in images))],
            'mm_ssl, batched': lambda: mv(images, generator=g),
        }
        secs = {k: med for k, (med, _) in timeit(runs, repeats, device=device).items()}
        base = secs['torchvision PIL, per sample']
        rows += [dict(recipe=name, pipeline=k, device=device.type, ms_per_batch=1e3 * s,
                      images_per_s=batch / s, speedup=base / s) for k, s in secs.items()]
    return rows


def bench_train_step(batch=64, size=32, repeats=3, device='cpu'):
    """SimCLR ResNet-18 (CIFAR stem) training step, NCHW vs channels_last: samples/s."""
    device = torch.device(device)
    rows, secs = [], {}
    for fmt in (torch.contiguous_format, torch.channels_last):
        torch.manual_seed(0)
        model = SimCLR(encoder=dict(type='ResNet', depth=18, cifar_stem=True),
                       neck=dict(type='MLP', hidden_dim=2048, out_dim=128)).to(device)
        model = model.to(memory_format=fmt)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        views = [torch.randn(batch, 3, size, size, device=device).contiguous(memory_format=fmt)
                 for _ in range(2)]

        def step():
            loss = model(views, mode='loss')['loss']
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        secs[str(fmt).split('.')[-1]] = timeit({'step': step}, repeats, device=device)['step'][0]
    base = secs['contiguous_format']
    for name, s in secs.items():
        rows.append(dict(memory_format=name, device=device.type, batch=batch,
                         s_per_step=s, samples_per_s=batch / s, speedup=base / s))
    return rows


def print_table(rows, title):
    cols = list(rows[0])

    def fmt(v):
        return f'{v:,.1f}' if isinstance(v, float) else str(v)

    cells = [[fmt(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
    print(f'\n{title}')
    print('  '.join(c.ljust(w) for c, w in zip(cols, widths)))
    print('  '.join('-' * w for w in widths))
    for r in cells:
        print('  '.join(v.ljust(w) for v, w in zip(r, widths)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--batch', type=int, default=256)
    ap.add_argument('--size', type=int, default=32, help='input and view side length')
    ap.add_argument('--repeats', type=int, default=5, help='timed runs; the median is reported')
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--threads', type=int, default=2, help='torch CPU threads (2 on the CI box)')
    ap.add_argument('--step-batch', type=int, default=64,
                    help='images per SimCLR training step (each gives 2 views)')
    ap.add_argument('--skip-step', action='store_true', help='augmentation only')
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = bench_augmentation(args.batch, args.size, args.repeats, args.device)
    print_table(rows, f'Augmentation, 2 views of {args.batch} uint8 3x{args.size}x{args.size} '
                      f'images, {args.threads} threads, load average {os.getloadavg()[0]:.1f} '
                      f'(speedup = x over torchvision PIL)')
    if not args.skip_step:
        rows = bench_train_step(args.step_batch, args.size, max(args.repeats // 2, 2), args.device)
        print_table(rows, f'SimCLR training step, ResNet-18 CIFAR stem, {args.size} px, '
                          f'{args.threads} threads (speedup = x over NCHW)')


if __name__ == '__main__':
    main()
