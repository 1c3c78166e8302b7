"""Speed of mm_ssl's exact CPU sparse convolutions against spconv 2.3.8's own CPU path, on
OpenPCDet's VoxelBackBone8x and one KITTI-sized frame.

The frame is a ray-cast 64-beam sweep (HDL-64E elevations, the camera's 90 deg field of view:
ground, eight cars, two walls; about 16k points), mean-VFE voxelised (x, y, z, intensity) into
KITTI's grid: voxel [0.05, 0.05, 0.1], range [0, -40, -3, 70.4, 40, 1], sparse shape
[41, 1600, 1408]. Both backbones hold the same weights and run in train mode (BN batch
statistics), as in pretraining. spconv's CPU path is only exact with one thread; it is timed at
1 thread (the safe setting) and, for reference, at 2 threads, where its output is wrong on some
rows. Its CPU backward asks for the current CUDA stream, which its CPU branch never uses, and so
raises without a CUDA driver; here that call returns 0 instead, so the backward runs and can be
timed on any machine (with a driver the two timings agree).

    python benchmarks/bench_sparse.py --repeats 7
"""
import argparse
import copy
import os

import spconv.pytorch as spconv
import spconv.pytorch.ops as spconv_ops
from spconv.core import ConvAlgo
import torch

from mm_ssl.synthetic.scene import lidar_sweep
from mm_ssl.models.encoders import VoxelBackBone8x
from mm_ssl.ops import SparseConv3d, SubMConv3d
from mm_ssl.ops.matching import match_points
from mm_ssl.transforms.points import GlobalAugment, sample_points, voxelize_batch
from timing import timeit

VOXEL, RANGE, SHAPE = (0.05, 0.05, 0.1), (0, -40, -3, 70.4, 40, 1), [41, 1600, 1408]


def voxelize(points):
    """Mean-VFE voxels in KITTI's grid as a one-frame SparseConvTensor, indices (0, z, y, x)."""
    feats, coords, _ = voxelize_batch([points], VOXEL, RANGE)
    return spconv.SparseConvTensor(feats, coords, SHAPE, 1)


def spconv_twin(model):
    """A copy of ``model`` whose convs are spconv's own classes (our classes only override the
    CPU compute, so the swap keeps every parameter and indice_key)."""
    twin = copy.deepcopy(model)
    theirs = {SubMConv3d: spconv.SubMConv3d, SparseConv3d: spconv.SparseConv3d}
    for m in twin.modules():
        if type(m) in theirs:
            m.__class__ = theirs[type(m)]
            m.algo = ConvAlgo.Native   # a CUDA build of spconv defaults to a CUDA-only algorithm
    return twin


def run(model, x, threads, backward):
    torch.set_num_threads(threads)
    if backward:
        model.zero_grad(set_to_none=True)
        model(x)['encoded_spconv_tensor'].features.sum().backward()
        return None
    with torch.no_grad():
        return model(x)['encoded_spconv_tensor']


def resampled_views(points, num_contrast=1024, seed=0):
    """SimIPU's worst case for the intra-modal loss: view B re-sampled (not a permutation of view
    A), so pairs come from Hungarian matching of the ``num_contrast`` points sampled per view,
    with view B mapped back into A's frame by the inverse of its augmentation."""
    gen = torch.Generator().manual_seed(seed)
    aug = GlobalAugment()
    view_b, record = aug.augment(points, gen)
    a = sample_points(points, num_contrast, gen)[0][:, :3]
    b = record.invert(sample_points(view_b, num_contrast, gen)[0][:, :3])
    return a, b


def main(repeats=7, n_az=270, seed=0):
    points = lidar_sweep(seed, n_az)
    x = voxelize(points)
    match_a, match_b = resampled_views(points)
    ours = VoxelBackBone8x(4, VOXEL, RANGE).train()
    theirs = spconv_twin(ours)
    before = torch.get_num_threads()
    spconv_ops.get_current_stream = lambda: 0   # unused by its CPU branch (see the docstring)

    ref = run(theirs, x, 1, False)
    out = {t: run(ours, x, t, False) for t in (1, 2)}
    inexact = run(theirs, x, 2, False)
    err = {'mm_ssl': {t: (o.features - ref.features).abs().max().item() for t, o in out.items()},
           'spconv': {1: 0.0, 2: (inexact.features - ref.features).abs().max().item()}}
    fns = {('mm_ssl', 2, 'fwd'): lambda: run(ours, x, 2, False),
           ('mm_ssl', 2, 'fwd+bwd'): lambda: run(ours, x, 2, True),
           ('mm_ssl', 1, 'fwd'): lambda: run(ours, x, 1, False),
           ('mm_ssl', 1, 'fwd+bwd'): lambda: run(ours, x, 1, True),
           ('spconv', 1, 'fwd'): lambda: run(theirs, x, 1, False),
           ('spconv', 1, 'fwd+bwd'): lambda: run(theirs, x, 1, True),
           ('spconv', 2, 'fwd'): lambda: run(theirs, x, 2, False),
           ('spconv', 2, 'fwd+bwd'): lambda: run(theirs, x, 2, True),
           ('voxelize', 2, 'points'): lambda: (torch.set_num_threads(2), voxelize(points)),
           ('matching', 2, '1024'): lambda: match_points(match_a, match_b, max_distance=0.5)}
    load = os.getloadavg()[0]
    ms = {k: (1e3 * med, 1e3 * low) for k, (med, low) in timeit(fns, repeats).items()}
    torch.set_num_threads(before)

    print(f'KITTI-sized frame: {len(points)} points -> {len(x.indices)} voxels in {SHAPE}; '
          f'encoded: {len(ref.indices)} voxels x 128 on {ref.spatial_shape}')
    print(f'VoxelBackBone8x, train mode, median (min) of {repeats} runs in ms; load average '
          f'{load:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (2-thread runs slow '
          f'down sharply when other processes hold the cores)\n')
    head = f"{'path':8} {'threads':>7}  {'max |diff| vs spconv 1t':>24}  {'forward':>16}  " \
           f"{'forward+backward':>16}"
    print(head + '\n' + '-' * len(head))
    for path, t in [('mm_ssl', 2), ('mm_ssl', 1), ('spconv', 1), ('spconv', 2)]:
        cells = [f'{ms[(path, t, task)][0]:8.1f} ({ms[(path, t, task)][1]:5.1f})'
                 for task in ('fwd', 'fwd+bwd')]
        print(f'{path:8} {t:7d}  {err[path][t]:24.2e}  ' + '  '.join(cells))

    ours_fb, ours_f = ms[('mm_ssl', 2, 'fwd+bwd')][0], ms[('mm_ssl', 2, 'fwd')][0]
    theirs_f = ms[('spconv', 1, 'fwd')][0]
    rows = [('forward+backward', ours_fb, ms[('spconv', 1, 'fwd+bwd')][0]),
            ('forward', ours_f, theirs_f)]
    print(f"\n{'median ms':26} {'mm_ssl, 2 threads':>17} {'spconv, 1 thread':>17} "
          f"{'spconv / mm_ssl':>16}")
    for name, a, b in rows:
        print(f'{name:26} {a:17.1f} {b:17.1f} {b / a:16.2f}')
    match_ms = ms[('matching', 2, '1024')][0]
    pairs = len(match_points(match_a, match_b, max_distance=0.5)[0])
    # a SimIPU step runs the encoder forward+backward on two views, plus the image branch
    step_ms = 2 * ours_fb + match_ms
    print(f'\nHungarian matching of 1024 + 1024 re-sampled points (scipy linear_sum_assignment, '
          f'0.5 m gate, {pairs} pairs kept): {match_ms:.1f} ms = '
          f'{100 * match_ms / step_ms:.1f}% of '
          f'a point-branch step (2 views x forward+backward + matching = {step_ms:.0f} ms; the '
          'image branch makes the real share smaller)')
    vox_ms = ms[('voxelize', 2, 'points')][0]
    print(f'\nvoxelisation (mm_ssl.transforms.voxelize_batch, mean-VFE, 2 threads): '
          f'{vox_ms:.1f} ms for {len(points)} points = {len(points) / vox_ms / 1e3:.2f} M points/s')
    if torch.cuda.is_available():
        gpu = copy.deepcopy(ours).cuda()
        xg = spconv.SparseConvTensor(x.features.cuda(), x.indices.cuda(), SHAPE, 1)
        cuda = timeit({'forward': lambda: run(gpu, xg, 2, False),
                       'forward+backward': lambda: run(gpu, xg, 2, True)},
                      repeats, warmup=3, device='cuda')
        print(f'\non {torch.cuda.get_device_name()} (our layers run spconv\'s CUDA kernels): '
              + ', '.join(f'{k} {1e3 * med:.1f} ms' for k, (med, _) in cuda.items()))


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--repeats', type=int, default=7)
    ap.add_argument('--azimuths', type=int, default=270, help='rays per beam (270: ~16k points)')
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()
    main(args.repeats, args.azimuths, args.seed)
