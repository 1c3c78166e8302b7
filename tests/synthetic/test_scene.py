"""data_prep/make_synthetic_kitti.py and mm_ssl.synthetic.scene, checked from the files
they write with references written here: a KITTI calib parser and projection, the OpenPCDet
camera -> LiDAR box conversion, and analytic ray ranges."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT
from mm_ssl.synthetic import scene as ss
from mm_ssl.engine.cli import exit_on_error
from mm_ssl.errors import ConfigError

spec = importlib.util.spec_from_file_location('make_synthetic_kitti',
                                              os.path.join(ROOT, 'data_prep',
                                                           'make_synthetic_kitti.py'))
msk = importlib.util.module_from_spec(spec)
spec.loader.exec_module(msk)

SMALL = dict(frames=3, width=414, height=125, test_frames=1, azimuth_steps=1024, debug_ids=True,
             verbose=False)
CALIB_COUNTS = {'P0': 12, 'P1': 12, 'P2': 12, 'P3': 12, 'R0_rect': 9, 'Tr_velo_to_cam': 12,
                'Tr_imu_to_velo': 12}
TYPES = {'Car', 'Van', 'Truck', 'Pedestrian', 'Person_sitting', 'Cyclist', 'Tram', 'Misc',
         'DontCare'}


@pytest.fixture(scope='module')
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp('small') / 'kitti'
    msk.make_synthetic_kitti(out, seed=0, **SMALL)
    return out


@pytest.fixture(scope='module')
def full(tmp_path_factory):
    """Two frames at KITTI's image size and the default LiDAR resolution."""
    out = tmp_path_factory.mktemp('full') / 'kitti'
    summary = msk.make_synthetic_kitti(out, frames=2, seed=3, debug_ids=True, verbose=False)
    return out, summary


def read_calib(path):
    """{key: numbers} as written, and the 3x4 LiDAR -> image-2 projection and the 4x4
    LiDAR -> rectified camera transform they define."""
    values = {}
    for line in Path(path).read_text().splitlines():
        key, numbers = line.split(':')
        values[key] = np.array([float(x) for x in numbers.split()])
    R0, Tr = np.eye(4), np.eye(4)
    R0[:3, :3] = values['R0_rect'].reshape(3, 3)
    Tr[:3, :] = values['Tr_velo_to_cam'].reshape(3, 4)
    return values, values['P2'].reshape(3, 4) @ R0 @ Tr, R0 @ Tr


def frames_of(root):
    """Per training frame: points, per-point ids, id map, depth, calib path, label lines and
    the objects file."""
    d = Path(root) / 'training'
    for name in sorted(p.stem for p in (d / 'velodyne').iterdir()):
        label = d / 'label_2' / f'{name}.txt'
        yield dict(
            name=name,
            points=np.fromfile(d / 'velodyne' / f'{name}.bin', np.float32).reshape(-1, 4),
            point_ids=np.load(d / 'velodyne_ids' / f'{name}.npy'),
            ids=np.asarray(Image.open(d / 'ids_2' / f'{name}.png')),
            depth=np.asarray(Image.open(d / 'depth_2' / f'{name}.png')).astype(float) / 256,
            calib=d / 'calib' / f'{name}.txt',
            labels=[line.split() for line in label.read_text().splitlines()],
            objects=json.loads((d / 'objects' / f'{name}.json').read_text()))


def all_files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(Path(root).rglob('*'))
            if p.is_file() and p.name != msk.MARKER}


# ------------------------------------------------------------------------------------ files
def test_same_seed_same_bytes_other_seed_differs(small, tmp_path):
    msk.make_synthetic_kitti(tmp_path / 'again', seed=0, **SMALL)
    msk.make_synthetic_kitti(tmp_path / 'other', seed=1, **SMALL)
    ref, again, other = (all_files(small), all_files(tmp_path / 'again'),
                         all_files(tmp_path / 'other'))
    assert len(ref) == 3 * 8 + 1 * 7 + 4 and ref == again
    for sub, ext in (('velodyne', 'bin'), ('image_2', 'png'), ('calib', 'txt'),
                     ('label_2', 'txt')):
        name = Path('training', sub, f'000000.{ext}')
        assert ref[name] != other[name], name


def check_frame_files(root, name, width, height, labelled=True):
    d = Path(root) / ('training' if labelled else 'testing')
    raw = (d / 'velodyne' / f'{name}.bin').read_bytes()
    assert len(raw) % 16 == 0
    points = np.frombuffer(raw, np.float32).reshape(-1, 4)
    assert np.isfinite(points).all() and 0 <= points[:, 3].min() and points[:, 3].max() <= 1
    assert np.linalg.norm(points[:, :3], axis=1).max() < 80.2
    image = Image.open(d / 'image_2' / f'{name}.png')
    assert image.mode == 'RGB' and image.size == (width, height)
    lines = (d / 'calib' / f'{name}.txt').read_text().splitlines()
    keys = [line.split(':')[0] for line in lines if line.strip()]
    assert keys == list(CALIB_COUNTS)
    values, _, _ = read_calib(d / 'calib' / f'{name}.txt')
    assert {k: len(v) for k, v in values.items()} == CALIB_COUNTS
    assert (d / 'label_2' / f'{name}.txt').exists() == labelled
    for fields in [line.split() for line in (d / 'label_2' / f'{name}.txt').read_text()
                   .splitlines()] if labelled else []:
        assert len(fields) == 15 and fields[0] in TYPES, fields
        trunc, occ, alpha, x1, y1, x2, y2, h, w, l, x, y, z, ry = map(float, fields[1:])
        assert 0 <= x1 <= x2 <= width - 1 and 0 <= y1 <= y2 <= height - 1, fields
        if fields[0] == 'DontCare':
            assert fields[1:4] == ['-1', '-1', '-10'] and fields[-1] == '-10'
            continue
        assert 0 <= trunc <= 1 and occ in (0, 1, 2, 3) and abs(alpha) <= np.pi + 0.01
        assert abs(ry) <= np.pi + 0.01 and 0 < z < 80 and abs(x) < 60 and -1 < y < 4.5, fields
        assert {'Pedestrian': 0.3 < w < 1 and 0.3 < l < 1.2 and 1.2 < h < 2.1,
                'Cyclist': 0.3 < w < 1 and 1.2 < l < 2.2 and 1.2 < h < 2.1,
                'Car': 1.4 < w < 2.1 and 3 < l < 5 and 1.2 < h < 1.8,
                'Van': 1.7 < w < 2.4 and 4 < l < 6 and 1.7 < h < 2.5}[fields[0]], fields
    return points, values


def test_kitti_size_formats_and_calibration(full):
    root, summary = full
    for name in ('000000', '000001'):
        points, calib = check_frame_files(root, name, 1242, 375)
        assert 30_000 <= len(points) <= 131_072  # 64 beams x 2048 azimuths, less misses
    P2 = calib['P2'].reshape(3, 4)
    assert np.allclose(P2[:, :3], [[721.5377, 0, 609.5593], [0, 721.5377, 172.854], [0, 0, 1]])
    assert 40 < P2[0, 3] < 50 and 0 < P2[2, 3] < 0.01  # KITTI's small camera-2 offset
    R = calib['Tr_velo_to_cam'].reshape(3, 4)[:, :3]
    assert np.allclose(R @ R.T, np.eye(3), atol=1e-5)
    assert np.allclose(R, [[0, -1, 0], [0, 0, -1], [1, 0, 0]], atol=0.05)  # x fwd -> z fwd
    assert np.allclose(calib['R0_rect'].reshape(3, 3), np.eye(3), atol=0.03)
    assert summary['splits'] == dict(train=1, val=1, trainval=2, test=0)
    assert (root / 'ImageSets' / 'test.txt').read_text() == '' and not (root / 'testing').exists()


def test_small_formats_and_image_sets(small):
    sets = {k: (small / 'ImageSets' / f'{k}.txt').read_text().split()
            for k in ('train', 'val', 'trainval', 'test')}
    assert sorted(sets['train'] + sets['val']) == sets['trainval'] == ['000000', '000001',
                                                                       '000002']
    assert sets['test'] == ['000000'] and all(len(x) == 6 for v in sets.values() for x in v)
    for name in sets['trainval']:
        check_frame_files(small, name, 414, 125)
    check_frame_files(small, '000000', 414, 125, labelled=False)


def test_refuses_foreign_dir_and_bad_arguments(tmp_path, capsys):
    (tmp_path / 'mine.txt').write_text('not a synthetic KITTI tree')
    with pytest.raises(SystemExit) as exit_, exit_on_error():
        msk.main(['--out', str(tmp_path), '--frames', '1'])
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and error.startswith('error: ') and str(tmp_path) in error
    assert os.listdir(tmp_path) == ['mine.txt']
    with pytest.raises(ConfigError, match='frames'):
        msk.make_synthetic_kitti(tmp_path / 'new', frames=0)


def test_cli_and_rerun(tmp_path):
    """The script as a user runs it (two worker processes); a re-run replaces its tree."""
    out = tmp_path / 'kitti'
    msk.make_synthetic_kitti(out, frames=3, width=64, height=32, azimuth_steps=64, verbose=False)
    run = subprocess.run([sys.executable, 'data_prep/make_synthetic_kitti.py', '--out', str(out),
                          '--frames', '2', '--width', '207', '--height', '63',
                          '--azimuth-steps', '256', '--workers', '2'], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.splitlines()[-1].startswith('wrote 2 training + 0 testing frames')
    # one progress bar (stdout or stderr, by where it is shown), its label first
    bar = [line for line in (run.stdout + run.stderr).replace('\r', '\n').splitlines()
           if line.startswith('writing synthetic KITTI frames: 100%')]
    assert bar and ' 2/2 ' in bar[-1], run.stdout + run.stderr
    assert sorted(p.name for p in (out / 'training' / 'velodyne').iterdir()) == \
        ['000000.bin', '000001.bin']
    assert Image.open(out / 'training' / 'image_2' / '000000.png').size == (207, 63)


# ------------------------------------------------------------------------------------ geometry
@pytest.mark.parametrize('which', ['small', 'full'])
def test_lidar_points_project_onto_their_surfaces(which, request):
    root = request.getfixturevalue(which)
    root = root[0] if which == 'full' else root
    for f in frames_of(root):
        _, P, _ = read_calib(f['calib'])
        x = np.column_stack([f['points'][:, :3].astype(float), np.ones(len(f['points']))]) @ P.T
        depth = x[:, 2]
        u, v = np.round(x[:, :2] / depth[:, None]).astype(int).T
        height, width = f['ids'].shape
        inside = (depth > 0.5) & (u >= 0) & (u < width) & (v >= 0) & (v < height)
        assert inside.sum() > 1000
        ids, same = f['point_ids'][inside], f['ids'][v[inside], u[inside]] == f['point_ids'][
            inside]
        # objects lose a few more points: parallax hides some from the camera (27 cm ahead)
        assert same.mean() >= 0.95 and same[ids > 0].mean() >= 0.93, (f["name"], same.mean())
        # the rendered depth at the point's sub-pixel position: 1 / depth is affine in the pixel
        # coordinates on a plane, so interpolate it between the four pixel centres around the
        # point where they show its object (not the sky) on one plane (not across a box edge)
        uf, vf = x[:, 0] / depth, x[:, 1] / depth
        u0, v0 = np.floor(uf).astype(int), np.floor(vf).astype(int)
        ok = (depth > 0.5) & (u0 >= 0) & (u0 < width - 1) & (v0 >= 0) & (v0 < height - 1)
        u0, v0, fu, fv, z = u0[ok], v0[ok], (uf - u0)[ok], (vf - v0)[ok], depth[ok]
        corners = [(v0 + dv, u0 + du, (fu if du else 1 - fu) * (fv if dv else 1 - fv))
                   for du in (0, 1) for dv in (0, 1)]
        inv = [1 / np.maximum(f['depth'][r, c], 1e-3) for r, c, _ in corners]
        use = np.all([(f['ids'][r, c] == f['point_ids'][ok]) & (f['depth'][r, c] > 0)
                      for r, c, _ in corners], 0)
        use &= np.abs(inv[0] + inv[3] - inv[1] - inv[2]) < 2e-3 * inv[0]
        error = np.abs(1 / sum(i * wgt for i, (_, _, wgt) in zip(inv, corners)) - z)[use]
        assert use.mean() > 0.8 and np.median(error) < 0.015, f['name']
        assert np.mean(error < 0.05 + 0.002 * z[use]) > 0.99, (f['name'], np.sort(error)[-20:])


def test_labels_contain_their_objects_points(small, full):
    checked = 0
    for root in (small, full[0]):
        for f in frames_of(root):
            _, P, velo_to_rect = read_calib(f['calib'])
            rect_to_velo = np.linalg.inv(velo_to_rect)
            labelled = {o['label_line']: o for o in f['objects'] if o['label_line'] is not None}
            assert sorted(labelled) == list(range(len(f['labels'])))
            for i, fields in enumerate(f['labels']):
                obj = labelled[i]
                assert fields[0] == 'DontCare' or fields[0] == obj['type']
                x1, y1, x2, y2 = map(float, fields[4:8])
                rows, cols = np.nonzero(f['ids'] == obj['id'])
                assert ((cols >= x1 - 1) & (cols <= x2 + 1) & (rows >= y1 - 1)
                        & (rows <= y2 + 1)).mean() > 0.99
                mine = f['points'][f['point_ids'] == obj['id'], :3].astype(float)
                if fields[0] == 'DontCare' or len(mine) < 10:
                    continue
                # OpenPCDet's boxes3d_kitti_camera_to_lidar
                h, w, l, x, y, z, ry = map(float, fields[8:])
                centre = (rect_to_velo @ [x, y, z, 1])[:3] + [0, 0, h / 2]
                yaw = -ry - np.pi / 2
                c, s = np.cos(yaw), np.sin(yaw)
                local = (mine - centre) @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
                inside = (np.abs(local) <= np.array([l, w, h]) / 2 + 1e-3).all(1)
                assert inside.mean() >= 0.95, (f['name'], fields, inside.mean())
                checked += 1
    assert checked >= 10


# ------------------------------------------------------------------------------------ ray caster
def test_ray_caster_analytic_ranges():
    scene = ss.Scene(np.array([-1.73, 0.02, 0.]))
    add = lambda kind, c, size, rot=np.eye(3): scene.prims.append(  # noqa: E731
        ss.Primitive(kind, np.array(c, float), rot, np.array(size, float), 1, 'metal'))
    add('box', (10, 0, 0), (1, 1, 1), ss.rot_z(np.pi / 4))  # corner edge at x = 10 - sqrt(2)
    add('box', (20, 0, 0), (1, 1, 1))  # hidden behind the first
    add('cylinder', (0, 5, 0), (0.5, 2))  # vertical: side at y = 4.5
    add('cylinder', (-6, 0, 0), (1, 1), ss.ROT_Z_TO_Y)  # a wheel: axis along y
    add('cylinder', (0, 0, 8), (1, 3))  # seen from below: cap at z = 5
    add('sphere', (0, -7, 0.5), (1,))
    rays = np.array([[1, 0, 0], [0, 1, 0], [-1, 0, 0], [0, 0, 1], [0, -1, 0],
                     [np.sqrt(0.5), 0, -np.sqrt(0.5)], [0, 0.6, 0.8]], float)
    hits = ss.cast_rays(scene, np.zeros(3), rays[None])
    sphere = 7 - np.sqrt(1 - 0.25)
    ground = 1.73 / (np.sqrt(0.5) * 1.02)  # -t sin45 = -1.73 + 0.02 t cos45
    assert np.allclose(hits.t[0], [10 - np.sqrt(2), 4.5, 5, 5, sphere, ground, np.inf])
    assert hits.prim[0].tolist() == [1, 3, 4, 5, 6, 0, -1]


def test_lidar_ranges_on_a_wall_and_ground():
    """A noise-free scan of a wall 9 m ahead: every wall return lies on the face x = 9 at range
    9 / (direction's x); ground returns lie on the plane."""
    scene = ss.Scene(np.array([-1.73, 0.01, -0.02]))
    scene.objects.append(ss.SceneObject(1, 'Wall', np.array([10., 0, -2]), np.array([2., 8, 6]),
                                        0., np.full((2, 3), 0.5)))
    scene.prims.append(ss.Primitive('box', np.array([10., 0, 1]), np.eye(3),
                                    np.array([1., 4, 3]), 1, 'facade'))
    cfg = ss.LidarConfig(azimuth_steps=720, range_noise=0., dropout=0.)
    points, ids = ss.lidar_scan(scene, np.random.default_rng(0), cfg)
    wall, ground = points[ids == 1, :3].astype(float), points[ids == 0, :3].astype(float)
    assert len(wall) > 500 and np.allclose(wall[:, 0], 9, atol=1e-4)
    assert np.all(np.abs(wall[:, 1]) <= 4 + 1e-4) and np.all(wall[:, 2] <= 4 + 1e-4)
    assert len(ground) > 10_000
    assert np.allclose(ground[:, 2], -1.73 + 0.01 * ground[:, 0] - 0.02 * ground[:, 1],
                       atol=1e-4)


def test_noisy_ground_points_follow_the_ground_function():
    frame = ss.make_frame(np.random.default_rng(7), width=207, height=63,
                          lidar=ss.LidarConfig(azimuth_steps=512))
    ground = frame.points[frame.point_ids == 0, :3].astype(float)
    dz = ground[:, 2] - frame.scene.ground_height(ground[:, 0], ground[:, 1])
    assert len(ground) > 5000 and np.abs(dz).max() < 0.08 and np.median(np.abs(dz)) < 0.01


def test_tile_culling_loses_no_hit():
    """Casting with 16x16 (or 8x32) ray tiles gives what casting ray by ray gives."""
    scene = ss.make_scene(np.random.default_rng(11))
    calib = ss.kitti_calibration(width=207, height=63)
    origin, dirs, _ = ss.camera_rays(calib, 207, 63)
    lidar = ss.LidarConfig(azimuth_steps=256).rays()
    for o, d, tile in ((origin, dirs, (16, 16)), (np.zeros(3), lidar, (8, 32))):
        tiled, single = (ss.cast_rays(scene, o, d, 600, tile),
                         ss.cast_rays(scene, o, d, 600, (1, 1)))
        # (BLAS may round the same product differently for different batch sizes)
        assert np.array_equal(tiled.prim, single.prim) and np.allclose(tiled.t, single.t,
                                                                       rtol=1e-9)
        assert (tiled.obj > 0).mean() > 0.1
