"""tools/visualize_kitti.py on a tiny synthetic KITTI tree, driven as a user drives it: both PNGs
written, the projection keeps the image's aspect ratio, the BEV rectangles enclose the LiDAR
points of their objects, and a missing calib file is one error line with exit status 2."""
import importlib.util
import json
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT

WIDTH, HEIGHT = 320, 96
TOOL = osp.join(ROOT, 'tools', 'visualize_kitti.py')


def run(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    """One synthetic frame, with --debug-ids for each LiDAR point's object (the independent
    ground truth), and the tool's output for it."""
    root = tmp_path_factory.mktemp('vis') / 'kitti'
    gen = run(osp.join(ROOT, 'data_prep', 'make_synthetic_kitti.py'), '--out', str(root),
              '--frames', '1', '--seed', '0', '--width', str(WIDTH), '--height', str(HEIGHT),
              '--azimuth-steps', '512', '--debug-ids')
    assert gen.returncode == 0, gen.stderr[-3000:]
    out = run(TOOL, '--root', str(root), '--out-dir', str(root / 'vis'))
    assert out.returncode == 0, out.stderr[-3000:]
    return root, out.stdout


def load_tool():
    spec = importlib.util.spec_from_file_location('visualize_kitti', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_writes_both_pngs(tree):
    root, stdout = tree
    proj, bev = root / 'vis' / '000000_projection.png', root / 'vis' / '000000_bev.png'
    assert f'wrote {proj}' in stdout and f'wrote {bev}' in stdout
    w, h = Image.open(proj).size
    assert w >= WIDTH and abs(w / h - WIDTH / HEIGHT) < 0.02 * WIDTH / HEIGHT  # no margins
    bw, bh = Image.open(bev).size
    assert min(bw, bh) >= 400 and 0.8 < bw / bh < 1.25  # square metric view
    # points were drawn: the projection differs from the plain (upscaled) camera image
    image = np.asarray(Image.open(root / 'training' / 'image_2' / '000000.png').convert('RGB'))
    drawn = np.asarray(Image.open(proj).convert('RGB').resize((WIDTH, HEIGHT), Image.NEAREST))
    assert (np.abs(drawn.astype(int) - image).sum(-1) > 60).mean() > 0.02


def inside_convex(points, corners):
    """Points inside (or on) a convex polygon given counter-clockwise: left of every edge."""
    edges = np.roll(corners, -1, axis=0) - corners
    rel = points[:, None, :] - corners[None]
    cross = edges[None, :, 0] * rel[..., 1] - edges[None, :, 1] * rel[..., 0]
    return (cross >= -1e-9).all(1)


def test_bev_rectangles_enclose_object_points(tree):
    root, _ = tree
    from mm_ssl.datasets import kitti_io
    tool = load_tool()
    base = root / 'training'
    labels = kitti_io.read_label(base / 'label_2' / '000000.txt')
    l2c = kitti_io.lidar2cam(kitti_io.read_calib(base / 'calib' / '000000.txt'))
    points = kitti_io.read_points(base / 'velodyne' / '000000.bin')
    point_ids = np.load(base / 'velodyne_ids' / '000000.npy')
    # DontCare lines (far or tiny objects) carry no 3D box and are not drawn
    objects = [o for o in json.loads((base / 'objects' / '000000.json').read_text())
               if o['label_line'] is not None and o['lidar_points'] > 0
               and labels[o['label_line']]['type'] != 'DontCare']
    assert len(objects) >= 3
    for obj in objects:
        label = labels[obj['label_line']]
        corners = tool.bev_box_corners(label, l2c)
        # the rectangle is the generator's own LiDAR-frame footprint (label files round to
        # 1 cm), so enclosing the points is not vacuous
        l, w = obj['dims'][:2]
        d1, d2 = corners[2] - corners[0], corners[3] - corners[1]
        area = 0.5 * abs(d1[0] * d2[1] - d1[1] * d2[0])
        assert (l - 0.01) * (w - 0.01) <= area <= (l + 0.01) * (w + 0.01), (obj, area)
        np.testing.assert_allclose(corners.mean(0), obj['bottom'][:2], atol=0.02)
        xy = points[point_ids == obj['id'], :2].astype(np.float64)
        assert inside_convex(xy, corners).all(), (label['type'], obj['id'])


def test_missing_calib_is_one_error_line(tree, tmp_path):
    root, _ = tree
    copy = tmp_path / 'kitti'
    shutil.copytree(root / 'training', copy / 'training')
    (copy / 'training' / 'calib' / '000000.txt').unlink()
    out = run(TOOL, '--root', str(copy))
    assert out.returncode == 2, out.stderr[-3000:]
    lines = [line for line in out.stderr.splitlines() if line.startswith('error: ')]
    assert len(lines) == 1 and 'Traceback' not in out.stderr, out.stderr
    assert str(copy / 'training' / 'calib' / '000000.txt') in lines[0]
