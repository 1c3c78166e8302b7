"""KITTI / Waymo-in-KITTI readers, the info writer (run as the real CLI on a tiny synthetic tree)
and KittiPointImageDataset, including every kind of bad frame it must name or skip."""
import importlib.util
import os.path as osp
import pickle
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from mm_ssl.datasets.kitti import KittiPointImageDataset
from mm_ssl.datasets.kitti_io import (camera_box_to_lidar, lidar2img, lidar_box_to_camera,
                                      lidar_to_image, project_points, read_calib, read_label,
                                      read_points)
from mm_ssl.errors import ConfigError, DataError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'data_prep', 'create_kitti_infos.py')
W, H = 160, 48
AXES = np.array([[0.0, -1, 0], [0, 0, -1], [1, 0, 0]])  # LiDAR -> camera axes
SPLITS = dict(train=['000000', '000001'], val=['000002'], trainval=['000000', '000001', '000002'])


def load_script():
    spec = importlib.util.spec_from_file_location('create_kitti_infos', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rot(axis, angle):
    c, s = np.cos(angle), np.sin(angle)
    i, j = [k for k in range(3) if k != axis]
    m = np.eye(3)
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m if axis != 1 else m.T  # about y: [[c, 0, s], [0, 1, 0], [-s, 0, c]]


def h4(m):
    out = np.eye(4)
    out[:m.shape[0], :m.shape[1]] = m
    return out


def write_calib(path, mats):
    path.write_text(''.join(f'{k}: ' + ' '.join(repr(float(v)) for v in m.ravel()) + '\n'
                            for k, m in mats.items()))


def camera_matrix(tx, rng):
    return np.array([[70.0, 0, 80.3, 70 * tx], [0, 70, 23.7, rng.uniform(-.2, .2)],
                     [0, 0, 1, 0.003]])


def kitti_calib(rng):
    """KITTI file-shaped matrices, rotated about the vertical axis: mmdet3d's counting box
    (yaw -ry - pi/2) then turns against the labelled one by the calibration's yaw, which changes
    the counts of :func:`brute_force_in_box` (mmdet3d's rule) against the labelled box's."""
    tr = np.concatenate([AXES @ rot(2, rng.uniform(-.05, .05)), [[0.05], [-0.08], [-0.27]]], 1)
    return dict(P0=camera_matrix(0, rng), P1=camera_matrix(-.54, rng), P2=camera_matrix(.06, rng),
                P3=camera_matrix(-.47, rng), R0_rect=rot(1, rng.uniform(-.02, .02)),
                Tr_velo_to_cam=tr, Tr_imu_to_velo=rng.normal(size=(3, 4)))


def write_image(path, width=W, height=H, seed=0):
    rgb = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path)


def make_frame(split_dir, frame, rng, labels=True):
    """One frame: calib, image, cloud (background + points inside each box), labels. Returns the
    calib matrices, the cloud and the camera boxes (loc, h w l, ry)."""
    calib = kitti_calib(rng)
    write_calib(split_dir / 'calib' / f'{frame}.txt', calib)
    write_image(split_dir / 'image_2' / f'{frame}.png', seed=int(frame))
    cam2lidar = np.linalg.inv(h4(calib['R0_rect']) @ h4(calib['Tr_velo_to_cam']))
    boxes, clouds = [], [rng.uniform([-10, -40, -3, 0], [75, 40, 2, 1], (1500, 4))]
    for _ in range(3):
        loc = np.round([rng.uniform(-4, 4), rng.uniform(1.4, 1.8), rng.uniform(8, 30)], 2)
        hwl, ry = np.round(rng.uniform([1.4, 1.5, 3.5], [1.7, 1.8, 4.5]), 2), round(
            rng.uniform(-3, 3), 2)
        local = rng.uniform(-0.48, 0.48, (40, 3)) * hwl[[2, 0, 1]] - [0, hwl[0] / 2, 0]
        cam = loc + local @ rot(1, ry).T
        clouds.append(np.c_[cam @ cam2lidar[:3, :3].T + cam2lidar[:3, 3], rng.uniform(0, 1, 40)])
        boxes.append((loc, hwl, ry))
    points = np.concatenate(clouds).astype(np.float32)[rng.permutation(1620)]
    points.tofile(split_dir / 'velodyne' / f'{frame}.bin')
    if labels:
        lines = [f'Car 0.00 0 -1.50 10.00 5.00 40.00 {(25, 35, 55)[k]}.00 '
                 f'{" ".join(map(str, hwl))} {" ".join(map(str, loc))} {ry}\n'
                 for k, (loc, hwl, ry) in enumerate(boxes)]
        lines.append('DontCare -1 -1 -10 50.00 10.00 60.00 20.00 -1 -1 -1 -1000 -1000 -1000 -10\n')
        (split_dir / 'label_2' / f'{frame}.txt').write_text(''.join(lines))
    return dict(calib=calib, points=points, boxes=boxes)


def make_kitti(root, seed=0):
    rng, truth = np.random.default_rng(seed), {}
    for folder, frames, labels in (('training', SPLITS['trainval'], True),
                                   ('testing', ['000000'], False)):
        for sub in ('calib', 'image_2', 'velodyne') + ('label_2',) * labels:
            (root / folder / sub).mkdir(parents=True)
        for frame in frames:
            truth[folder, frame] = make_frame(root / folder, frame, rng, labels)
    (root / 'ImageSets').mkdir()
    for name, ids in {**SPLITS, 'test': ['000000']}.items():
        (root / 'ImageSets' / f'{name}.txt').write_text('\n'.join(ids) + '\n')
    return truth


@pytest.fixture(scope='module')
def kitti(tmp_path_factory):
    """A tiny KITTI tree with its infos written by the real CLI (2 workers)."""
    root = tmp_path_factory.mktemp('kitti')
    truth = make_kitti(root)
    out = subprocess.run([sys.executable, SCRIPT, '--root', str(root), '--workers', '2'],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return root, truth, out.stdout + out.stderr   # the progress bar is on either


def hand_lidar2img(calib):
    return h4(calib['P2']) @ h4(calib['R0_rect']) @ h4(calib['Tr_velo_to_cam'])


def brute_force_frustum(points, calib):
    keep = []
    m = hand_lidar2img(calib)
    for p in points.astype(np.float64):
        x = m @ np.r_[p[:3], 1]
        keep.append(x[2] > 1e-3 and 0 <= x[0] / x[2] <= W - 1 and 0 <= x[1] / x[2] <= H - 1)
    return points[np.array(keep)]


def brute_force_in_box(points, calib, loc, hwl, ry):
    """mmdet3d's count: the bottom centre mapped to the LiDAR frame, the box standing on it along
    LiDAR z with yaw -ry - pi/2 (box_camera_to_lidar + points_in_rbbox, origin (0.5, 0.5, 0))."""
    lidar2cam = h4(calib['R0_rect']) @ h4(calib['Tr_velo_to_cam'])
    bottom = (np.linalg.inv(lidar2cam) @ np.r_[loc, 1])[:3]
    yaw = -ry - np.pi / 2
    count = 0
    for p in points.astype(np.float64):
        dx, dy, dz = p[:3] - bottom
        along = dx * np.cos(yaw) + dy * np.sin(yaw)
        across = -dx * np.sin(yaw) + dy * np.cos(yaw)
        count += abs(along) <= hwl[2] / 2 and abs(across) <= hwl[1] / 2 and 0 <= dz <= hwl[0]
    return count


# --- readers -------------------------------------------------------------------------------------

def test_calib_round_trip_and_projection(tmp_path):
    rng = np.random.default_rng(1)
    mats = {f'P{i}': rng.normal(size=(3, 4)) for i in range(4)}
    mats.update(R0_rect=rng.normal(size=(3, 3)), Tr_velo_to_cam=rng.normal(size=(3, 4)),
                Tr_imu_to_velo=rng.normal(size=(3, 4)))
    mats['P2'][2] = [0, 0, 1, 0.003]
    write_calib(tmp_path / 'calib.txt', mats)
    calib = read_calib(tmp_path / 'calib.txt')
    for key, m in mats.items():
        assert calib[key].shape == (4, 4) and np.array_equal(calib[key], h4(m))
    pts = rng.uniform(-20, 20, (5, 3))
    uv, depth = lidar_to_image(pts, calib, camera=2)
    for k, p in enumerate(pts):  # P2 . R0_rect . Tr_velo_to_cam . [x y z 1], by hand
        x = [p[0], p[1], p[2], 1.0]
        tr = [[sum(h4(mats['Tr_velo_to_cam'])[r][c] * x[c] for c in range(4))] for r in range(4)]
        rect = [sum(h4(mats['R0_rect'])[r][c] * tr[c][0] for c in range(4)) for r in range(4)]
        img = [sum(h4(mats['P2'])[r][c] * rect[c] for c in range(4)) for r in range(3)]
        assert depth[k] == pytest.approx(img[2], rel=1e-12)
        assert uv[k].tolist() == pytest.approx([img[0] / img[2], img[1] / img[2]], rel=1e-10)


def test_calib_waymo_and_tracking_keys(tmp_path):
    rng = np.random.default_rng(2)
    mats = {f'P{i}': rng.normal(size=(3, 4)) for i in range(5)}
    mats.update({f'Tr_velo_to_cam_{i}': rng.normal(size=(3, 4)) for i in range(5)})
    write_calib(tmp_path / 'waymo.txt', mats)
    calib = read_calib(tmp_path / 'waymo.txt', camera=0)
    assert np.array_equal(calib['R0_rect'], np.eye(4))
    for i in range(5):
        assert np.allclose(lidar2img(calib, i), h4(mats[f'P{i}']) @ h4(mats[f'Tr_velo_to_cam_{i}']))
    del mats['Tr_velo_to_cam_3']
    write_calib(tmp_path / 'waymo.txt', mats)
    path = tmp_path / 'waymo.txt'
    with pytest.raises(DataError, match=re.escape(f'{path}: no Tr_velo_to_cam_3')):
        read_calib(path, camera=3)
    # KITTI tracking spelling: no colon, R_rect / Tr_velo_cam
    (tmp_path / 'tracking.txt').write_text('P2 ' + ' '.join(['1'] * 12) + '\nR_rect '
                                           + ' '.join(['1'] * 9) + '\nTr_velo_cam '
                                           + ' '.join(['2'] * 12) + '\n')
    calib = read_calib(tmp_path / 'tracking.txt')
    assert calib['R0_rect'][:3, :3].sum() == 9 and calib['Tr_velo_to_cam'][:3].sum() == 24


@pytest.mark.parametrize('edit,message', [
    (lambda s: re.sub(r'P2:.*\n', '', s), 'no P2 line'),
    (lambda s: re.sub(r'Tr_velo_to_cam:.*\n', '', s), 'no Tr_velo_to_cam line'),
    (lambda s: re.sub(r'P2:.*\n', 'P2: 1 2 3\n', s), ':3: P2 has 3 numbers, expected 12'),
    (lambda s: re.sub(r'R0_rect: \S+', 'R0_rect: abc', s), ':5: R0_rect holds a non-numeric'),
    (lambda s: re.sub(r'P2: \S+', 'P2: nan', s), ':3: P2 holds a non-numeric or non-finite')])
def test_bad_calib(tmp_path, edit, message):
    path = tmp_path / 'calib.txt'
    write_calib(path, kitti_calib(np.random.default_rng(0)))
    path.write_text(edit(path.read_text()))
    with pytest.raises(DataError, match=re.escape(f'{path}{"" if message[0] == ":" else ": "}'
                                                  f'{message}')):
        read_calib(path)


def test_read_points_and_bad_bins(tmp_path):
    pts = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    pts.tofile(tmp_path / 'good.bin')
    assert np.array_equal(read_points(tmp_path / 'good.bin'), pts)
    assert read_points(tmp_path / 'good.bin', 2).shape == (20, 2)
    with pytest.raises(DataError, match=re.escape(f'{tmp_path / "good.bin"}: 160 bytes is not a '
                                                  'multiple of 24')):
        read_points(tmp_path / 'good.bin', 6)
    with pytest.raises(DataError, match=re.escape(f'{tmp_path / "nope.bin"}: missing file')):
        read_points(tmp_path / 'nope.bin')
    pts[3, 1], pts[7, 3] = np.nan, np.inf
    pts.tofile(tmp_path / 'bad.bin')
    with pytest.raises(DataError, match=re.escape(f'{tmp_path / "bad.bin"}: 2 of 10 points hold '
                                                  'NaN or inf')):
        read_points(tmp_path / 'bad.bin')
    kept = read_points(tmp_path / 'bad.bin', drop_invalid=True)
    assert np.array_equal(kept, np.delete(pts, [3, 7], 0))


def test_read_label_and_malformed_line(tmp_path):
    path = tmp_path / 'label.txt'
    path.write_text('Car 0.12 1 -1.57 10.5 20 30.25 40 1.5 1.6 3.9 1.2 1.7 15.3 0.5\n'
                    'Pedestrian 0 0 0.1 1 2 3 4 1.7 0.6 0.8 -2 1.6 9 -0.3 0.87\n\n')
    car, ped = read_label(path)
    assert car['type'] == 'Car' and car['occluded'] == 1 and car['truncated'] == 0.12
    assert car['bbox'].tolist() == [10.5, 20, 30.25, 40] and 'score' not in car
    assert car['dimensions'].tolist() == [1.5, 1.6, 3.9] and car['location'].tolist() == [1.2, 1.7,
                                                                                          15.3]
    assert car['rotation_y'] == 0.5 and car['alpha'] == -1.57 and ped['score'] == 0.87
    path.write_text(path.read_text() + 'Car 0 0 0 1 2 3\n')
    with pytest.raises(DataError, match=re.escape(f'{path}:4: 7 fields, expected 15')):
        read_label(path)
    path.write_text('Car 0 x 0 1 2 3 4 1 1 1 1 1 1 0\n')
    with pytest.raises(DataError, match=re.escape(f'{path}:1: non-numeric')):
        read_label(path)


def test_box_conversions_round_trip_and_match_mmdet3d_for_aligned_axes():
    rng = np.random.default_rng(3)
    boxes = np.c_[rng.uniform(-5, 5, (6, 3)), rng.uniform(1, 4, (6, 3)), rng.uniform(-3, 3, 6)]
    upright = h4(rot(1, 0.1) @ AXES @ rot(2, 0.3)) @ h4(np.c_[np.eye(3), [0.3, -0.1, 0.2]])
    back = lidar_box_to_camera(camera_box_to_lidar(boxes, upright), upright)
    np.testing.assert_allclose(back, boxes, atol=1e-9)
    tilted = h4(rot(0, 0.02)) @ upright  # a 7-DoF box drops the tilt: yaw off to 2nd order
    back = lidar_box_to_camera(camera_box_to_lidar(boxes, tilted), tilted)
    np.testing.assert_allclose(back[:, :6], boxes[:, :6], atol=1e-9)
    np.testing.assert_allclose(back[:, 6], boxes[:, 6], atol=1e-3)
    aligned = h4(np.c_[AXES, [0.1, -0.2, -0.3]])
    lidar = camera_box_to_lidar(boxes, aligned)
    loc_lidar = (np.linalg.inv(aligned) @ np.c_[boxes[:, :3], np.ones(6)].T).T[:, :3]
    np.testing.assert_allclose(lidar[:, :2], loc_lidar[:, :2], atol=1e-12)  # OpenPCDet's rule:
    np.testing.assert_allclose(lidar[:, 2], loc_lidar[:, 2] + boxes[:, 4] / 2, atol=1e-12)
    np.testing.assert_allclose(lidar[:, 3:6], boxes[:, [3, 5, 4]])  # l h w -> l w h
    yaw = (-boxes[:, 6] - np.pi / 2 + np.pi) % (2 * np.pi) - np.pi  # -ry - pi/2
    np.testing.assert_allclose(np.cos(lidar[:, 6] - yaw), 1, atol=1e-12)


# --- info files (real CLI) -----------------------------------------------------------------------

def test_create_kitti_infos(kitti):
    root, truth, printed = kitti
    assert 'writing kitti infos: 100%' in printed and ' 4/4 ' in printed
    assert '4 frames written, 0 bad frames skipped' in printed
    counts = dict(train=2, val=1, trainval=3, test=1)
    for name, n in counts.items():
        with open(root / f'kitti_infos_{name}.pkl', 'rb') as f:
            infos = pickle.load(f)
        meta = infos['metainfo']
        assert meta['dataset'] == 'kitti' and meta['info_version'] == '1.1'
        assert meta['categories']['Car'] == 2 and meta['categories']['Pedestrian'] == 0
        assert meta['categories'].get('DontCare', -1) == -1
        assert len(infos['data_list']) == n
        folder = 'testing' if name == 'test' else 'training'
        ids = ['000000'] if name == 'test' else SPLITS[name]
        assert [i['sample_idx'] for i in infos['data_list']] == [int(i) for i in ids]
        for frame, info in zip(ids, infos['data_list']):
            check_frame(root / folder, frame, info, truth[folder, frame], labelled=name != 'test')


def check_frame(split_dir, frame, info, truth, labelled):
    calib = truth['calib']
    images = info['images']
    assert set(images) == {'CAM0', 'CAM1', 'CAM2', 'CAM3', 'R0_rect'}
    cam2 = images['CAM2']
    assert (cam2['img_path'], cam2['height'], cam2['width']) == (f'{frame}.png', H, W)
    np.testing.assert_allclose(cam2['cam2img'], h4(calib['P2']), atol=1e-12)
    np.testing.assert_allclose(cam2['lidar2img'], hand_lidar2img(calib), atol=1e-12)
    np.testing.assert_allclose(images['CAM3']['lidar2img'], h4(calib['P3']) @ h4(
        calib['R0_rect']) @ h4(calib['Tr_velo_to_cam']), atol=1e-12)
    np.testing.assert_allclose(images['R0_rect'], h4(calib['R0_rect']), atol=1e-12)
    lp = info['lidar_points']
    assert lp['num_pts_feats'] == 4 and lp['lidar_path'] == f'{frame}.bin'
    np.testing.assert_allclose(lp['Tr_velo_to_cam'], h4(calib['Tr_velo_to_cam']), atol=1e-12)
    np.testing.assert_allclose(lp['Tr_imu_to_velo'], h4(calib['Tr_imu_to_velo']), atol=1e-12)
    # velodyne_reduced: exactly the points in front of camera 2 and inside its image
    reduced = read_points(split_dir / 'velodyne_reduced' / f'{frame}.bin')
    expected = brute_force_frustum(truth['points'], calib)
    assert 100 < len(reduced) < len(truth['points'])
    np.testing.assert_array_equal(reduced, expected)
    uv, depth = project_points(reduced[:, :3].astype(np.float64), hand_lidar2img(calib))
    assert (depth > 1e-3).all() and (uv >= 0).all() and (uv <= [W - 1, H - 1]).all()
    if not labelled:
        assert info['instances'] == []
        return
    *cars, dontcare = info['instances']
    assert len(cars) == len(truth['boxes'])
    for k, (inst, (loc, hwl, ry)) in enumerate(zip(cars, truth['boxes'])):
        assert inst['bbox_label'] == inst['bbox_label_3d'] == 2
        assert inst['index'] == inst['group_id'] == k
        np.testing.assert_allclose(inst['bbox_3d'], [*loc, hwl[2], hwl[0], hwl[1], ry])
        assert inst['num_lidar_pts'] == brute_force_in_box(reduced, calib, loc, hwl, ry)
        centre = h4(calib['P2']) @ np.r_[loc - [0, hwl[0] / 2, 0], 1]
        assert inst['depth'] == pytest.approx(centre[2])
        assert inst['center_2d'] == pytest.approx(list(centre[:2] / centre[2]))
        assert inst['bbox'] == [10, 5, 40, (25, 35, 55)[k]]
        assert inst['difficulty'] == (-1, 1, 0)[k]  # 2D heights 20, 30, 50 px: none, mod., easy
        assert (inst['truncated'], inst['occluded'], inst['alpha'], inst['score']) == (
            0, 0, -1.5, 0)
    assert sum(inst['num_lidar_pts'] for inst in cars) >= 40
    assert (dontcare['bbox_label'], dontcare['index'], dontcare['num_lidar_pts']) == (-1, -1, -1)


def test_create_infos_bad_frame_and_skip_bad(kitti, tmp_path, capsys):
    root = tmp_path / 'kitti'
    shutil.copytree(kitti[0], root)
    script = load_script()
    bad = root / 'training' / 'velodyne' / '000001.bin'
    bad.write_bytes(b'\0' * 10)
    with pytest.raises(DataError, match=re.escape(f'{bad}: 10 bytes')):
        script.main(['--root', str(root)])
    label = root / 'training' / 'label_2' / '000002.txt'
    label.write_text(label.read_text() + 'Car 1 2\n')
    _, skipped = script.main(['--root', str(root), '--skip-bad'])
    out = capsys.readouterr().out
    assert len(skipped) == 2 and '2 frames written, 2 bad frames skipped' in out
    assert f'{bad}: 10 bytes' in out and f'{label}:5: 3 fields' in out
    with open(root / 'kitti_infos_trainval.pkl', 'rb') as f:
        assert [i['sample_idx'] for i in pickle.load(f)['data_list']] == [0]


def test_waymo_infos_and_dataset(tmp_path):
    """Waymo in KITTI layout: image_0 .jpg, P0..P4, Tr_velo_to_cam_0..4, 6-channel bins."""
    rng = np.random.default_rng(4)
    split_dir = tmp_path / 'training'
    for sub in ['calib', 'velodyne'] + [f'image_{i}' for i in range(5)]:
        (split_dir / sub).mkdir(parents=True)
    frames = ['0000000', '0000001']
    for frame in frames:
        mats = {f'P{i}': camera_matrix(0, rng) for i in range(5)}
        mats.update({f'Tr_velo_to_cam_{i}': np.c_[AXES @ rot(2, i * 1.2), rng.normal(size=3)]
                     for i in range(5)})
        write_calib(split_dir / 'calib' / f'{frame}.txt', mats)
        for i in range(5):
            Image.fromarray(np.full((H, W, 3), 40 * i, np.uint8)).save(
                split_dir / f'image_{i}' / f'{frame}.jpg')
        rng.uniform([0, -20, -2, 0, 0, 0], [60, 20, 2, 1, 1, 1], (2000, 6)).astype(
            np.float32).tofile(split_dir / 'velodyne' / f'{frame}.bin')
    (tmp_path / 'ImageSets').mkdir()
    (tmp_path / 'ImageSets' / 'train.txt').write_text('\n'.join(frames))
    load_script().main(['--root', str(tmp_path), '--waymo'])
    with open(tmp_path / 'waymo_infos_train.pkl', 'rb') as f:
        infos = pickle.load(f)
    assert infos['metainfo']['dataset'] == 'waymo'
    info = infos['data_list'][1]
    assert info['sample_idx'] == 1 and info['lidar_points']['num_pts_feats'] == 6
    assert info['images']['CAM_FRONT']['img_path'] == '0000001.jpg'
    assert set(info['images']) == {'CAM_FRONT', 'CAM_FRONT_LEFT', 'CAM_FRONT_RIGHT',
                                   'CAM_SIDE_LEFT', 'CAM_SIDE_RIGHT', 'R0_rect'}
    calib = read_calib(split_dir / 'calib' / '0000001.txt', camera=0)
    np.testing.assert_allclose(info['images']['CAM_SIDE_LEFT']['lidar2img'], lidar2img(calib, 3))
    reduced = read_points(split_dir / 'velodyne_reduced' / '0000001.bin', 6)
    uv, depth = lidar_to_image(reduced[:, :3], calib, camera=0)
    assert len(reduced) > 100 and (depth > 0).all() and (uv >= 0).all() and (uv < [W, H]).all()
    ds = KittiPointImageDataset(tmp_path, 'waymo_infos_train.pkl', num_point_channels=6,
                                use_channels=5, camera=0, point_range=(0, -20, -2, 60, 20, 2),
                                num_points=512)
    sample = ds[1]
    assert sample['points'].shape == (512, 5) and sample['image'].shape == (3, H, W)
    np.testing.assert_allclose(sample['lidar2img'].numpy(), lidar2img(calib, 0))


# --- dataset -------------------------------------------------------------------------------------

def test_dataset_sample(kitti):
    root, truth, _ = kitti
    ds = KittiPointImageDataset(root, num_points=256)
    assert len(ds) == 2
    sample = ds[1]
    calib = truth['training', '000001']['calib']
    assert sample['sample_idx'] == 1 and sample['points'].shape == (256, 4)
    assert sample['points'].dtype == torch.float32
    assert sample['image'].dtype == torch.uint8 and sample['image'].shape == (3, H, W)
    np.testing.assert_allclose(sample['lidar2img'].numpy(), hand_lidar2img(calib), atol=1e-12)
    uv, depth = project_points(sample['points'][:, :3].double(), sample['lidar2img'])
    assert (depth > 0).all() and (uv >= 0).all() and (uv[:, 0] < W).all()
    p = sample['points']
    assert (p[:, 0] >= 0).all() and (p[:, 0] < 70.4).all() and (p[:, 2] >= -3).all()
    full = KittiPointImageDataset(root, reduced=False, num_points=None)[1]['points'].numpy()
    pts = truth['training', '000001']['points']
    expected = pts[(pts[:, :3] >= [0, -40, -3]).all(1) & (pts[:, :3] < [70.4, 40, 1]).all(1)]
    np.testing.assert_array_equal(full, expected)


def _bin(values):
    return lambda path: np.asarray(values, np.float32).tofile(path)


BAD_FRAMES = {  # name: (file of frame 0 to break, how, what the message says)
    'bin size': ('velodyne_reduced/000000.bin', lambda p: p.write_bytes(b'\0' * 10),
                 '10 bytes is not a multiple of 16'),
    'nan points': ('velodyne_reduced/000000.bin', _bin([[1, 2, 0, 0], [np.nan, 0, 0, 0]]),
                   '1 of 2 points hold NaN or inf'),
    'inf points': ('velodyne_reduced/000000.bin', _bin([[1, 2, 0, 0], [5, np.inf, 0, 0]]),
                   '1 of 2 points hold NaN or inf'),
    'empty after range filter': ('velodyne_reduced/000000.bin', _bin([[-5, 0, 0, 1]] * 3),
                                 'no points inside point_range'),
    'calib without P2': ('calib/000000.txt',
                         lambda p: p.write_text(re.sub(r'P2:.*\n', '', p.read_text())),
                         'no P2 line'),
    'calib without Tr_velo_to_cam': (
        'calib/000000.txt',
        lambda p: p.write_text(re.sub(r'Tr_velo_to_cam:.*\n', '', p.read_text())),
        'no Tr_velo_to_cam line'),
    'malformed calib line': ('calib/000000.txt',
                             lambda p: p.write_text(p.read_text().replace('R0_rect: ',
                                                                          'R0_rect: 1 ')),
                             'R0_rect has 10 numbers'),
    'undecodable image': ('image_2/000000.png', lambda p: p.write_bytes(b'not a png'),
                          'cannot decode image'),
    'image size far from principal point': ('image_2/000000.png',
                                            lambda p: write_image(p, width=1000),
                                            'far from its centre'),
}


@pytest.mark.parametrize('name', list(BAD_FRAMES))
def test_dataset_bad_frame_raises_or_skips(kitti, tmp_path, name):
    root = tmp_path / 'kitti'
    shutil.copytree(kitti[0], root)
    rel, corrupt, message = BAD_FRAMES[name]
    bad = root / 'training' / rel
    corrupt(bad)
    with pytest.raises(DataError, match=re.escape(str(bad)) + '.*' + re.escape(message)):
        KittiPointImageDataset(root, num_points=64)[0]
    ds = KittiPointImageDataset(root, num_points=64, on_bad_sample='skip')
    assert ds[0]['sample_idx'] == 1 and ds[1]['sample_idx'] == 1
    lidar = str(root / 'training' / 'velodyne_reduced' / '000000.bin')
    assert list(ds.skipped) == [lidar] and ds.skipped[lidar].startswith(str(bad))
    assert message in ds.skipped[lidar]


def test_dataset_all_bad_and_config_errors(kitti, tmp_path):
    root = tmp_path / 'kitti'
    shutil.copytree(kitti[0], root)
    for frame in SPLITS['train']:
        (root / 'training' / 'image_2' / f'{frame}.png').write_bytes(b'')
    ds = KittiPointImageDataset(root, on_bad_sample='skip')
    with pytest.raises(DataError, match='no readable frame left, all 2 skipped'):
        ds[0]
    assert len(ds.skipped) == 2
    with pytest.raises(DataError, match=re.escape(f'{root / "nope.pkl"}: missing info file')):
        KittiPointImageDataset(root, 'nope.pkl')
    with pytest.raises(ConfigError, match="on_bad_sample must be 'raise' or 'skip'"):
        KittiPointImageDataset(root, on_bad_sample='ignore')
