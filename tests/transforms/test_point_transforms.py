"""Point/image view pipeline of SimIPU and the voxel grid: range filter, sampling, the invertible
global augmentation with consistent projections, image resize/flip, voxelisation vs brute force."""
import math

import numpy as np
import pytest
import torch

from mm_ssl.datasets.kitti_io import project_points
from mm_ssl.transforms.points import (GlobalAugment, ImageResizeFlip, range_filter, sample_points,
                                      sparse_shape, voxelize, voxelize_batch)

H, W = 96, 320
# a KITTI-like camera 2: P2 @ (LiDAR x forward, y left, z up -> camera x right, y down, z forward)
P2 = torch.tensor([[250.0, 0, 161.3, 10], [0, 250, 47.2, 0.2], [0, 0, 1, 0.003], [0, 0, 0, 1]],
                  dtype=torch.float64)
AXES = torch.tensor([[0.0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0], [0, 0, 0, 1]],
                    dtype=torch.float64)
LIDAR2IMG = P2 @ AXES
# well separated pixels (u, v) that the synthetic points project to exactly
PIXELS = torch.tensor([[40, 20], [150, 30], [280, 70], [100, 75], [220, 15], [60, 60]],
                      dtype=torch.float64)


def points_at(pixels, lidar2img, depth):
    """LiDAR points that project exactly to ``pixels`` at ``depth``."""
    hom = torch.cat([pixels * depth[:, None], depth[:, None], torch.ones(len(depth), 1,
                                                                         dtype=torch.float64)], 1)
    return (torch.linalg.inv(lidar2img) @ hom.T).T[:, :3]


def painted_image(pixels, r=3):
    """Black image with a (2r+1)^2 white square centred on each pixel (its centroid)."""
    img = torch.zeros(3, H, W, dtype=torch.uint8)
    for u, v in pixels.long().tolist():
        img[:, v - r:v + r + 1, u - r:u + r + 1] = 255
    return img


def centroid(image, uv, radius):
    """Intensity centroid (u, v) of channel 0 in a window around ``uv``."""
    u0, v0 = int(round(uv[0])), int(round(uv[1]))
    top, left = max(v0 - radius, 0), max(u0 - radius, 0)
    win = image[0, top:v0 + radius + 1, left:u0 + radius + 1].double()
    vs, us = torch.meshgrid(torch.arange(top, top + win.shape[0]),
                            torch.arange(left, left + win.shape[1]), indexing='ij')
    return torch.stack([(win * us).sum(), (win * vs).sum()]) / win.sum()


def test_range_filter_half_open_and_counts():
    g = torch.Generator().manual_seed(0)
    pts = torch.rand(5000, 4, generator=g) * torch.tensor([100, 100, 8, 1]) \
        - torch.tensor([15, 50, 4, 0])
    rng = (0, -40, -3, 70.4, 40, 1)
    kept = range_filter(pts, rng)
    p = pts.numpy()
    expected = p[(p[:, 0] >= 0) & (p[:, 0] < 70.4) & (p[:, 1] >= -40) & (p[:, 1] < 40)
                 & (p[:, 2] >= -3) & (p[:, 2] < 1)]
    assert 0 < len(kept) < len(pts)
    np.testing.assert_array_equal(kept.numpy(), expected)
    edge = torch.tensor([[0, -40, -3, 0], [70.4, 0, 0, 0], [1, 1, 0.5, 0], [1, 1, 1, 0]],
                        dtype=torch.float64)
    assert range_filter(edge, rng).tolist() == [[0, -40, -3, 0], [1, 1, 0.5, 0]]


def test_sample_points_counts_and_indices():
    pts = torch.arange(300, dtype=torch.float32)[:, None].repeat(1, 4)
    out, idx = sample_points(pts, 100, torch.Generator().manual_seed(0))
    assert out.shape == (100, 4) and len(set(idx.tolist())) == 100
    assert torch.equal(out, pts[idx])
    out, idx = sample_points(pts, 1000, torch.Generator().manual_seed(0))
    assert out.shape == (1000, 4) and set(idx.tolist()) == set(range(300))  # no point lost
    assert torch.equal(out, pts[idx])
    again = sample_points(pts, 1000, torch.Generator().manual_seed(0))[1]
    assert torch.equal(idx, again)
    with pytest.raises(ValueError):
        sample_points(pts[:0], 10)


@pytest.mark.parametrize('flip', [False, True])
def test_global_augment_matrix_inverse_and_shuffle(flip):
    g = torch.Generator().manual_seed(1)
    pts = torch.rand(2000, 4, generator=g, dtype=torch.float64) * 60 - 20
    aug = GlobalAugment(flip_prob=float(flip), center=(35.2, 0.0, -1.0))
    points_b, rec = aug.augment(pts, g)
    assert rec.flip == flip and -math.pi / 2 <= rec.angle <= math.pi / 2
    assert 0.75 <= rec.scale <= 1.25
    # the matrix, composed by hand: flip, then rotate and scale about the centre
    c, s = math.cos(rec.angle), math.sin(rec.angle)
    centre = np.array([35.2, 0.0, -1.0])
    lin = rec.scale * np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ np.diag([1, -1 if flip else 1,
                                                                             1])
    hand = np.eye(4)
    hand[:3, :3], hand[:3, 3] = lin, centre - rec.scale * np.array(
        [[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ centre
    np.testing.assert_allclose(rec.matrix.numpy(), hand, atol=1e-12)
    x = pts[rec.perm, :3].numpy()
    np.testing.assert_allclose(points_b[:, :3].numpy(), x @ lin.T + hand[:3, 3], atol=1e-9)
    # exact inverse, for arbitrary view-B locations and for the shuffled cloud
    torch.testing.assert_close(rec.invert(rec.apply(pts[:, :3])), pts[:, :3], atol=1e-5, rtol=0)
    torch.testing.assert_close(rec.apply(rec.invert(pts[:, :3])), pts[:, :3], atol=1e-5, rtol=0)
    back = rec.unshuffle(torch.cat([rec.invert(points_b[:, :3]), points_b[:, 3:]], 1))
    torch.testing.assert_close(back, pts, atol=1e-5, rtol=0)
    assert sorted(rec.perm.tolist()) == list(range(len(pts)))
    assert not torch.equal(rec.perm, torch.arange(len(pts)))
    pts32 = pts.float()  # float32 in, float32 out, computed in float64
    assert rec.invert(rec.apply(pts32[:, :3])).dtype == torch.float32
    torch.testing.assert_close(rec.invert(rec.apply(pts32[:, :3])), pts32[:, :3], atol=1e-5,
                               rtol=0)


@pytest.mark.parametrize('flip', [False, True])
def test_global_augment_keeps_projections_consistent(flip):
    g = torch.Generator().manual_seed(2)
    depth = torch.rand(len(PIXELS), generator=g, dtype=torch.float64) * 40 + 5
    pts = torch.cat([points_at(PIXELS, LIDAR2IMG, depth), torch.rand(len(PIXELS), 1,
                                                                     dtype=torch.float64)], 1)
    image = painted_image(PIXELS)
    res = GlobalAugment(flip_prob=float(flip))(dict(points=pts, image=image,
                                                    lidar2img=LIDAR2IMG.clone()), g)
    mirrored = PIXELS.clone()
    if flip:  # the image is mirrored: pixel u -> W - 1 - u
        mirrored[:, 0] = W - 1 - PIXELS[:, 0]
        assert torch.equal(res['image'], image.flip(-1)) and res['img_flip']
    else:
        assert torch.equal(res['image'], image)
    # view A in the augmented image, and view B (shuffled, rotated, scaled, flipped) likewise
    uv_a, _ = project_points(res['points'][:, :3], res['lidar2img'])
    torch.testing.assert_close(uv_a, mirrored, atol=1e-6, rtol=0)
    uv_b, depth_b = project_points(res['points_b'][:, :3], res['lidar2img_b'])
    torch.testing.assert_close(uv_b, mirrored[res['aug'].perm], atol=1e-6, rtol=0)
    torch.testing.assert_close(depth_b, depth[res['aug'].perm], atol=1e-9, rtol=0)
    for u, v in uv_b.round().long().tolist():  # each lands on its painted square
        assert res['image'][0, v, u] == 255


@pytest.mark.parametrize('scale,flip', [((480, 144), True), ((160, 48), False),
                                        ((1000, 300), True), (((256, 80), (640, 200)), True)])
def test_image_resize_flip_moves_projections_with_the_image(scale, flip):
    g = torch.Generator().manual_seed(3)
    depth = torch.rand(len(PIXELS), generator=g, dtype=torch.float64) * 40 + 5
    pts = points_at(PIXELS, LIDAR2IMG, depth)
    res = ImageResizeFlip(scale, flip=flip)(dict(image=painted_image(PIXELS),
                                                 lidar2img=LIDAR2IMG.clone()), g)
    h, w = res['img_shape']
    assert abs(w / h - W / H) < 0.05 and res['image'].shape[-2] % 32 == 0
    assert res['image'].shape[-1] % 32 == 0 and res['image'][:, h:].sum() == 0
    if not isinstance(scale[0], tuple):
        assert max(h, w) <= max(scale) and min(h, w) <= min(scale)
    uv, _ = project_points(pts, res['lidar2img'])
    for p in uv:  # the centroid of each resampled square is where its point projects
        torch.testing.assert_close(centroid(res['image'], p.tolist(), round(12 * w / W)), p,
                                   atol=0.05, rtol=0)


def test_image_resize_random_scale_range():
    g = torch.Generator().manual_seed(4)
    t = ImageResizeFlip(((640, 192), (2400, 720)), pad_divisor=None)
    sizes = set()
    for _ in range(5):  # KITTI's 1242x375: long edge <= L, short <= S, L and S drawn
        h, w = t(dict(image=torch.zeros(3, 375, 1242, dtype=torch.uint8)), g)['img_shape']
        assert 636 <= w <= 2400 and 192 <= h <= 720 and abs(w / h - 1242 / 375) < 0.01
        sizes.add(w)
    assert len(sizes) == 5


def brute_force_voxels(points, voxel_size, point_range):
    lo, vs = np.array(point_range[:3]), np.array(voxel_size)
    grid = np.round((np.array(point_range[3:]) - lo) / vs).astype(int)
    voxels, p2v = {}, []
    for i, p in enumerate(points.astype(np.float64)):
        c = tuple(int(v) for v in np.floor((p[:3] - lo) / vs))
        if all(0 <= c[k] < grid[k] for k in range(3)):
            voxels.setdefault(c[::-1], []).append(i)  # key (z, y, x)
            p2v.append(c[::-1])
        else:
            p2v.append(None)
    return voxels, p2v


def test_voxelize_matches_brute_force():
    g = torch.Generator().manual_seed(5)
    rng, vs = (0, -4, -1, 6, 4, 1), (0.5, 0.5, 0.4)
    pts = torch.rand(600, 4, generator=g) * torch.tensor([8, 10, 3, 1]) \
        - torch.tensor([1, 5, 1.5, 0])
    feats, coords, p2v = voxelize(pts, vs, rng)
    voxels, bf_p2v = brute_force_voxels(pts.numpy(), vs, rng)
    keys = sorted(voxels)
    assert coords.dtype == torch.int32 and [tuple(c) for c in coords.tolist()] == keys
    for row, key in enumerate(keys):
        np.testing.assert_allclose(feats[row].numpy(), pts.numpy()[voxels[key]].mean(0),
                                   rtol=1e-5, atol=1e-6)
    for i, key in enumerate(bf_p2v):
        assert (p2v[i] == -1) if key is None else tuple(coords[p2v[i]].tolist()) == key
    assert (p2v == -1).sum() > 0 and len(keys) < (p2v >= 0).sum()  # voxels shared by points
    assert sparse_shape(vs, rng) == [6, 16, 12]


def test_voxelize_batch_and_max_voxels():
    g = torch.Generator().manual_seed(6)
    rng, vs = (0, -4, -1, 6, 4, 1), (0.5, 0.5, 0.4)
    clouds = [torch.rand(n, 4, generator=g) * torch.tensor([8, 10, 3, 1])
              - torch.tensor([1, 5, 1.5, 0]) for n in (300, 0, 500)]
    feats, coords, p2v = voxelize_batch(clouds, vs, rng)
    start = 0
    for b, cloud in enumerate(clouds):
        f1, c1, p1 = voxelize(cloud, vs, rng)
        mine = coords[:, 0] == b
        assert torch.equal(coords[mine, 1:], c1) and torch.allclose(feats[mine], f1)
        sub = p2v[start:start + len(cloud)]
        assert torch.equal(sub == -1, p1 == -1)
        hit = sub[sub >= 0]
        assert torch.equal(coords[hit, 1:], c1[p1[p1 >= 0]]) and (coords[hit, 0] == b).all()
        start += len(cloud)
    # max_voxels: per sample, the voxels first hit in point order
    assert (p2v == -1).any()
    capped, ccoords, cp2v = voxelize_batch(clouds, vs, rng, max_voxels=20)
    start = 0
    for b, cloud in enumerate(clouds):
        voxels, bf_p2v = brute_force_voxels(cloud.numpy(), vs, rng)
        first = sorted(voxels, key=lambda k: voxels[k][0])[:20]
        assert sorted(first) == [tuple(c) for c in ccoords[ccoords[:, 0] == b, 1:].tolist()]
        for i, key in enumerate(bf_p2v):
            j = int(cp2v[start + i])
            assert (j == -1) if key not in first else tuple(ccoords[j, 1:].tolist()) == key
        for key in first:
            row = [tuple(c) for c in ccoords.tolist()].index((b, *key))
            np.testing.assert_allclose(capped[row].numpy(), cloud.numpy()[voxels[key]].mean(0),
                                       rtol=1e-5, atol=1e-6)
        start += len(cloud)


def test_kitti_sparse_shape_and_grid_edges():
    assert sparse_shape() == [41, 1600, 1408]
    pts = torch.tensor([[0, -40, -3, 1], [70.39, 39.99, 0.99, 1], [70.4, 0, 0, 1], [-0.01, 0, 0, 1],
                        [10, 0, 1.0, 1]])
    _, coords, p2v = voxelize(pts)
    assert p2v.tolist() == [0, 1, -1, -1, -1]
    assert coords.tolist() == [[0, 0, 0], [39, 1599, 1407]]
