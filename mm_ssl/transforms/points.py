"""Point-cloud and image views for SimIPU (Li et al. 2022, "SimIPU: Simple 2D Image and 3D Point
Cloud Unsupervised Pre-Training for Spatial-Aware Visual Representations", AAAI), and the voxel
grid of sparse-convolution encoders (SECOND, Yan et al. 2018; OpenPCDet's ``MeanVFE``).

Transforms work on a results dict (what :class:`~mm_ssl.datasets.kitti.KittiPointImageDataset`
returns):

- ``points``: (N, C) float tensor, view A in the LiDAR frame (x, y, z first).
- ``image``: (3, H, W) uint8 tensor; ``img_shape``: its valid (unpadded) (H, W).
- ``lidar2img``: (4, 4) matrix taking view-A points to pixels of the *current* image.
- after :class:`GlobalAugment`: ``points_b`` (view B), ``aug`` (a :class:`GlobalAugRecord`) and
  ``lidar2img_b`` taking view-B points to pixels of the current image.

Every image transform left-multiplies all ``lidar2img*`` matrices by its pixel affine, so
``project_points(points, lidar2img)`` always lands where the point's pixel moved to. Pixel centres
sit at integers (KITTI's convention), so an image of width W covers u in [-0.5, W - 0.5], and
``grid_sample(align_corners=False)`` reads pixel u at ``(2u + 1) / W - 1``.

The BEV flip. SimIPU flips the view-B cloud (y -> -y) with p=0.5 and mirrors the image with it.
Mirroring the cloud about the LiDAR x-z plane is *not* a mirror of the image: the two coincide only
if the camera centre and optical axis lie in that plane and the principal point is the image's
middle column, which holds for no KITTI camera (camera 2 sits about 6 cm to the side of the LiDAR,
its principal point about 10 px off the middle column). So nothing here assumes they correspond: the
image mirror ``u -> W - 1 - u`` is a pixel affine like any other, and the cloud flip is part of the
3D affine ``T`` of view B; ``lidar2img_b = lidar2img @ T^-1`` maps view-B points back to view A
before projecting, which is exact for any ``T``. Flipping "with" the cloud therefore only means that
the same coin decides both; a 2D-3D loss that projects either view with its own matrix is exact.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from mm_ssl.registry import TRANSFORMS

__all__ = ['range_filter', 'sample_points', 'GlobalAugRecord', 'GlobalAugment', 'ImageResizeFlip',
           'hflip_image', 'sparse_shape', 'voxelize', 'voxelize_batch']

KITTI_RANGE = (0, -40, -3, 70.4, 40, 1)
KITTI_VOXEL = (0.05, 0.05, 0.1)


def range_filter(points, point_range=KITTI_RANGE):
    """Points with ``min <= xyz < max`` per axis, ``point_range = (x0, y0, z0, x1, y1, z1)``;
    half-open like the voxel grid, so every kept point falls in a voxel.

    Shape:
        points: (N, C); returns (K, C).
    """
    r = torch.as_tensor(point_range, dtype=points.dtype, device=points.device)
    return points[((points[:, :3] >= r[:3]) & (points[:, :3] < r[3:])).all(1)]


def sample_points(points, n, generator=None):
    """``n`` points in random order: without replacement when there are enough, else every point
    once plus ``n - N`` drawn with replacement (so no point is lost, unlike sampling all ``n`` with
    replacement).

    Shape:
        points: (N, C) with N >= 1; returns (n, C) and the chosen indices (n,) int64.
    """
    num = len(points)
    if num == 0:
        raise ValueError('sample_points: no points to sample from')
    kw = dict(generator=generator, device=points.device)
    idx = torch.randperm(num, **kw)[:n]
    if num < n:
        idx = torch.cat([idx, torch.randint(num, (n - num,), **kw)])
        idx = idx[torch.randperm(n, **kw)]
    return points[idx], idx


def _affine(matrix, xyz):
    """4x4 affine applied to (N, 3) points in float64, returned in the points' dtype."""
    m = matrix.to(device=xyz.device, dtype=torch.float64)
    return (xyz.double() @ m[:3, :3].T + m[:3, 3]).to(xyz.dtype)


@dataclass
class GlobalAugRecord:
    """How view B was made from view A: ``points_b[j, :3] = apply(points_a[perm[j], :3])``.

    Attributes:
        matrix: (4, 4) float64 affine, view-A frame -> view-B frame.
        perm: (N,) int64 shuffle.
        angle, scale, flip: the drawn rotation (rad), scale and BEV flip.
    """
    matrix: torch.Tensor
    perm: torch.Tensor
    angle: float
    scale: float
    flip: bool

    def apply(self, xyz):
        """View-A locations -> view-B frame. Shape: (N, 3) -> (N, 3)."""
        return _affine(self.matrix, xyz)

    def invert(self, xyz):
        """View-B locations (any points, e.g. an encoder's sampled centres) -> view-A frame."""
        return _affine(torch.linalg.inv(self.matrix), xyz)

    def unshuffle(self, rows):
        """Rows in view-B order -> view-A order. Shape: (N, ...) -> (N, ...)."""
        out = torch.empty_like(rows)
        out[self.perm.to(rows.device)] = rows
        return out


@TRANSFORMS.register_module()
class GlobalAugment:
    """View B of SimIPU: BEV flip ``y -> -y`` with ``flip_prob``, rotation about z by an
    angle uniform in ``rot_range`` and uniform scaling in ``scale_range``, both about ``center``
    (the middle of KITTI's camera range), then an independent shuffle:

        T = C · S · R · C^-1 · F,   C = translation by ``center``.

    On a results dict it adds ``points_b``, ``aug`` and ``lidar2img_b = lidar2img · T^-1``; when
    the cloud is flipped and ``flip_image``, the image is mirrored too (see the module docstring
    for why this is a separate, exactly tracked pixel affine).
    """

    def __init__(self, rot_range=(-math.pi / 2, math.pi / 2), scale_range=(0.75, 1.25),
                 flip_prob=0.5, center=(35.2, 0.0, -1.0), shuffle=True, flip_image=True):
        self.rot_range, self.scale_range, self.flip_prob = rot_range, scale_range, flip_prob
        self.center, self.shuffle, self.flip_image = center, shuffle, flip_image

    def draw(self, n, generator=None):
        """A random :class:`GlobalAugRecord` for ``n`` points."""
        u = torch.rand(3, generator=generator, dtype=torch.float64).tolist()
        angle = self.rot_range[0] + (self.rot_range[1] - self.rot_range[0]) * u[0]
        scale = self.scale_range[0] + (self.scale_range[1] - self.scale_range[0]) * u[1]
        flip = u[2] < self.flip_prob
        c, s = math.cos(angle), math.sin(angle)
        rot_scale = torch.eye(4, dtype=torch.float64)
        rot_scale[:3, :3] = scale * torch.tensor([[c, -s, 0], [s, c, 0], [0, 0, 1]],
                                                 dtype=torch.float64)
        centre = torch.eye(4, dtype=torch.float64)
        centre[:3, 3] = torch.tensor(self.center, dtype=torch.float64)
        matrix = centre @ rot_scale @ torch.linalg.inv(centre) @ torch.diag(
            torch.tensor([1.0, -1.0 if flip else 1.0, 1.0, 1.0], dtype=torch.float64))
        perm = torch.randperm(n, generator=generator) if self.shuffle else torch.arange(n)
        return GlobalAugRecord(matrix, perm, angle, scale, flip)

    def augment(self, points, generator=None):
        """View B of ``points`` and its record. Shape: (N, C) -> (N, C)."""
        record = self.draw(len(points), generator)
        points_b = points[record.perm.to(points.device)].clone()
        points_b[:, :3] = record.apply(points_b[:, :3])
        return points_b, record

    def __call__(self, results, generator=None):
        points_b, record = self.augment(results['points'], generator)
        results.update(points_b=points_b, aug=record)
        if 'lidar2img' in results:
            lidar2img = results['lidar2img']
            results['lidar2img_b'] = lidar2img @ torch.linalg.inv(record.matrix).to(lidar2img)
        if record.flip and self.flip_image and 'image' in results:
            hflip_image(results)
        return results


def _apply_pixel_affine(results, affine):
    """Left-multiply every ``lidar2img*`` by a 3x3 pixel affine, embedded as a 4x4 acting on
    (u·d, v·d, d, 1) so that it commutes with the division by depth."""
    a = torch.eye(4, dtype=torch.float64)
    a[:3, :3] = torch.as_tensor(affine, dtype=torch.float64)
    for key in [k for k in results if k.startswith('lidar2img')]:
        results[key] = a.to(results[key]) @ results[key]


def _img_shape(results):
    return tuple(results.get('img_shape', results['image'].shape[-2:]))


def hflip_image(results):
    """Mirror the valid part of ``results['image']`` (pixel u -> W - 1 - u) and update the
    ``lidar2img*`` matrices; toggles ``results['img_flip']``."""
    h, w = _img_shape(results)
    image = results['image'].clone()
    image[..., :h, :w] = image[..., :h, :w].flip(-1)
    results.update(image=image, img_flip=not results.get('img_flip', False))
    _apply_pixel_affine(results, [[-1, 0, w - 1], [0, 1, 0], [0, 0, 1]])
    return results


@TRANSFORMS.register_module()
class ImageResizeFlip:
    """Keep-ratio resize to a random scale (mmdet's ``RandomResize``: long and short edge drawn as
    integers between the two ``scale_range`` scales, then the largest size fitting both), or to a
    fixed scale when ``scale_range`` is one (w, h) pair; then a horizontal flip with probability
    ``flip`` (True = always) and zero padding of the bottom/right to a multiple of
    ``pad_divisor``. SimIPU draws between (640, 192) and (2400, 720).

    The resize maps pixel centres exactly (``u' = sx·u + (sx - 1)/2``, the geometry of bilinear
    ``align_corners=False`` sampling); padding adds no transform, ``img_shape`` keeps the valid
    size.

    Shape:
        image: (3, H, W) uint8 -> (3, H', W') uint8 with H', W' multiples of ``pad_divisor``.
    """

    def __init__(self, scale_range=((640, 192), (2400, 720)), flip=False, pad_divisor=32):
        self.scale_range, self.flip, self.pad_divisor = scale_range, float(flip), pad_divisor

    def _scale(self, generator):
        if not isinstance(self.scale_range[0], (tuple, list)):
            return self.scale_range
        edges = []
        for lo, hi in zip(*self.scale_range):
            lo, hi = min(lo, hi), max(lo, hi)
            edges.append(int(torch.randint(lo, hi + 1, (1,), generator=generator)))
        return edges

    def __call__(self, results, generator=None):
        image = results['image']
        h, w = image.shape[-2:]
        scale = self._scale(generator)
        factor = min(max(scale) / max(h, w), min(scale) / min(h, w))
        new_h, new_w = int(h * factor + 0.5), int(w * factor + 0.5)
        if (new_h, new_w) != (h, w):
            image = F.interpolate(image[None].float(), size=(new_h, new_w), mode='bilinear',
                                  align_corners=False, antialias=True)[0]
            image = image.round().clamp(0, 255).to(torch.uint8)
            sx, sy = new_w / w, new_h / h
            _apply_pixel_affine(results, [[sx, 0, (sx - 1) / 2], [0, sy, (sy - 1) / 2], [0, 0, 1]])
        results.update(image=image, img_shape=(new_h, new_w), scale_factor=(new_w / w, new_h / h))
        if self.flip > float(torch.rand(1, generator=generator)):  # rand in [0, 1)
            hflip_image(results)
        if self.pad_divisor:
            d = self.pad_divisor
            results['image'] = F.pad(results['image'], (0, -new_w % d, 0, -new_h % d))
        return results


def _grid_size(voxel_size, point_range):
    r = torch.tensor(point_range, dtype=torch.float64)
    return torch.round((r[3:] - r[:3]) / torch.tensor(voxel_size, dtype=torch.float64)).long()


def sparse_shape(voxel_size=KITTI_VOXEL, point_range=KITTI_RANGE):
    """Sparse tensor shape [z + 1, y, x] of the voxel grid, the extra z layer as OpenPCDet's
    ``grid_size[::-1] + [1, 0, 0]``; [41, 1600, 1408] for KITTI's defaults."""
    gx, gy, gz = _grid_size(voxel_size, point_range).tolist()
    return [gz + 1, gy, gx]


def voxelize_batch(points, voxel_size=KITTI_VOXEL, point_range=KITTI_RANGE, max_voxels=None):
    """Mean-VFE voxelisation of a batch of clouds, vectorised: one ``unique`` over linearised
    (b, z, y, x) keys and an ``index_add_`` for the per-voxel mean of all point channels.

    A point at ``xyz`` falls in voxel ``floor((xyz - min) / voxel_size)``; points outside the grid
    get voxel -1. With ``max_voxels``, each sample keeps the voxels its earliest points hit (the
    first-come rule of spconv's / mmcv's voxelisers) and its other points get -1.

    Shape:
        points: list of B (N_b, C) tensors.
        returns features (M, C) in the points' dtype; coords (M, 4) int32 (b, z, y, x), sorted;
        point2voxel (sum N_b,) int64 row of ``features`` per point (concatenation order).
    """
    pts = torch.cat(list(points))
    device = pts.device
    sizes = torch.tensor([len(p) for p in points], device=device)
    batch = torch.repeat_interleave(torch.arange(len(sizes), device=device), sizes)
    gx, gy, gz = _grid_size(voxel_size, point_range).tolist()
    lo = torch.tensor(point_range[:3], dtype=torch.float64, device=device)
    size = torch.tensor(voxel_size, dtype=torch.float64, device=device)
    c = torch.floor((pts[:, :3].double() - lo) / size).long()
    inside = ((c >= 0) & (c < torch.tensor([gx, gy, gz], device=device))).all(1)
    # points outside share one key past the grid: one unique() and no masking of the points
    outside = len(sizes) * gz * gy * gx
    key = torch.where(inside, ((batch * gz + c[:, 2]) * gy + c[:, 1]) * gx + c[:, 0], outside)
    keys, voxel = torch.unique(key.int() if outside < 2**31 else key, return_inverse=True)
    keys = keys.long()
    counts = torch.bincount(voxel, minlength=len(keys))
    features = torch.zeros(len(keys), pts.shape[1], dtype=pts.dtype, device=device)
    features.index_add_(0, voxel, pts).div_(counts[:, None].to(pts.dtype))
    keep = keys != outside
    if max_voxels is not None:
        first = torch.full((len(keys),), len(pts), device=device).scatter_reduce_(
            0, voxel, torch.arange(len(pts), device=device), 'amin').masked_fill_(~keep, len(pts))
        rank = torch.empty_like(first)
        rank[first.argsort()] = torch.arange(len(keys), device=device)  # grouped by sample
        vb = keys // (gz * gy * gx)
        per_sample = torch.bincount(vb, minlength=len(sizes) + 1)
        keep &= rank - (per_sample.cumsum(0) - per_sample)[vb] < max_voxels
    point2voxel = torch.where(keep, keep.cumsum(0) - 1, -1)[voxel]
    keys = keys[keep]
    coords = torch.stack([keys // (gz * gy * gx), keys // (gy * gx) % gz, keys // gx % gy,
                          keys % gx], 1).int()
    return features[keep], coords, point2voxel


def voxelize(points, voxel_size=KITTI_VOXEL, point_range=KITTI_RANGE, max_voxels=None):
    """:func:`voxelize_batch` for one cloud.

    Shape:
        points: (N, C); returns features (M, C), coords (M, 3) int32 (z, y, x),
        point2voxel (N,) int64 (-1 outside the grid).
    """
    features, coords, point2voxel = voxelize_batch([points], voxel_size, point_range, max_voxels)
    return features, coords[:, 1:], point2voxel
