"""Waymo without TensorFlow, end to end on synthetic segments (mm_ssl.synthetic.waymo):
TFRecord framing and CRCs (RFC 3720 vectors, a bitwise CRC-32C written here), the range image
maths (hand-derived values of the published formulas), the converter's points against the scene's
own ray hits, its calibration against the scene's object-id images, its errors and resumption,
and SimIPU trained through tools/train.py on the converted segment with the Waymo config."""
import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from conftest import ROOT
from mm_ssl.datasets import waymo
from mm_ssl.datasets.kitti_io import lidar2img, read_calib, read_points
from mm_ssl.synthetic.waymo import write_segment_v2
from mm_ssl.engine.cli import exit_on_error


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, 'data_prep',
                                                                     f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


w2k, msw = load_script('waymo_to_kitti'), load_script('make_synthetic_waymo')
FRAMES = 3


@pytest.fixture(scope='module')
def segment(tmp_path_factory):
    """One synthetic segment of 3 frames: (segments folder, its file, its SyntheticFrames)."""
    root = tmp_path_factory.mktemp('waymo') / 'segments'
    [(path, frames)] = msw.make_synthetic_waymo(root, segments=1, frames=FRAMES, seed=3,
                                                width=96, azimuth_steps=256, verbose=False)
    return root, path, frames


@pytest.fixture(scope='module')
def converted(segment, tmp_path_factory):
    """The segment converted by the script as a user runs it: (KITTI root, its stdout)."""
    out = tmp_path_factory.mktemp('waymo_kitti')
    run = subprocess.run([sys.executable, 'data_prep/waymo_to_kitti.py', '--root',
                          str(segment[0]), '--out', str(out)], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return out, run.stdout + run.stderr


def convert_error(root, out, capsys):
    """The converter run in-process on ``root``: its one ``error:`` line."""
    with pytest.raises(SystemExit) as exit_, exit_on_error():
        w2k.main(['--root', str(root), '--out', str(out)])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith('error: ')]
    assert exit_.value.code == 2 and len(lines) == 1 and 'Traceback' not in err, err
    return lines[0]


# ------------------------------------------------------------------------------------ CRC, TFRecord
def crc32c_bitwise(data):
    """CRC-32C bit by bit: reflected polynomial 0x82F63B78, initial and final xor 0xFFFFFFFF."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def test_crc32c_rfc3720_vectors_and_tfrecord_mask():
    # RFC 3720, appendix B.4, and the customary check value of '123456789'
    vectors = {bytes(32): 0x8A9136AA, b'\xff' * 32: 0x62A8AB43, bytes(range(32)): 0x46DD794E,
               bytes(range(31, -1, -1)): 0x113FDB5C, b'123456789': 0xE3069283}
    for data, crc in vectors.items():
        assert waymo.crc32c(data) == crc32c_bitwise(data) == crc
    data = np.random.default_rng(0).bytes(1000)
    crc = crc32c_bitwise(data)
    assert waymo.crc32c(data) == crc
    # TensorFlow's mask: rotate right by 15 bits, add 0xa282ead8
    assert waymo.masked_crc32c(data) == (((crc >> 15) | (crc << 17)) + 0xA282EAD8) % 2 ** 32


def test_tfrecord_framing_round_trip(tmp_path):
    records = [b'', b'x', np.random.default_rng(1).bytes(70_000)]
    waymo.write_tfrecord(tmp_path / 'r.tfrecord', records)
    raw = (tmp_path / 'r.tfrecord').read_bytes()
    assert len(raw) == sum(len(r) + 16 for r in records)
    # record 1 byte by byte: uint64 length, masked CRC of it, data, masked CRC of the data
    start = 16
    assert raw[start:start + 8] == (1).to_bytes(8, 'little') and raw[start + 12:start + 13] == b'x'
    assert int.from_bytes(raw[start + 8:start + 12], 'little') == waymo.masked_crc32c(
        raw[start:start + 8])
    assert int.from_bytes(raw[start + 13:start + 17], 'little') == waymo.masked_crc32c(b'x')
    segment = waymo.WaymoSegment(tmp_path / 'r.tfrecord')
    assert len(segment) == 3 and [segment.record(i) for i in range(3)] == records


# ------------------------------------------------------------------------------------ range images
def test_range_image_conventions_by_hand():
    """Values of the published formulas, worked out by hand."""
    # uniform: min + (i + 0.5) / H (max - min), reversed so that row 0 is the highest beam
    assert np.allclose(waymo.beam_inclinations(4, -0.1, 0.1), [0.075, 0.025, -0.025, -0.075])
    assert np.allclose(waymo.beam_inclinations(4, -0.1, 0.1, [-0.3, -0.1, 0.0, 0.02]),
                       [0.02, 0.0, -0.1, -0.3])
    # columns: vehicle azimuths pi (1 - (2w + 1) / W), less the sensor's yaw
    assert np.allclose(waymo.column_azimuths(4, np.eye(4)), np.pi * np.array([3, 1, -1, -3]) / 4)
    left = np.eye(4)
    left[:3, :3] = Rotation.from_euler('z', 90, degrees=True).as_matrix()
    assert np.allclose(waymo.column_azimuths(4, left), np.pi * np.array([1, -1, -3, -5]) / 4)
    # a left-facing sensor 1 m left of the origin: column 1 of 4 looks at vehicle azimuth pi/4
    left[1, 3] = 1.
    point = waymo.range_image_to_vehicle(np.full((1, 4), 2.), left, [0.])[0, 1]
    assert np.allclose(point, [2 * np.cos(np.pi / 4), 1 + 2 * np.sin(np.pi / 4), 0])
    roll, pitch, yaw = 0.1, -0.2, 2.5
    assert np.allclose(waymo.rotation_rpy(roll, pitch, yaw),
                       Rotation.from_euler('ZYX', [yaw, pitch, roll]).as_matrix())


def match(points, truth):
    """Index of each point's nearest truth point and the distance."""
    distance, index = cKDTree(truth).query(points)
    return index, distance


def test_points_equal_the_scene_ray_hits(segment, converted):
    """Every point of every .bin is one ray hit of the scene (all five LiDARs, both returns,
    the TOP LiDAR's motion compensated), to float32 rounding, and every hit is there once."""
    _, path, frames = segment
    out, _ = converted
    second = 0
    for k, frame in enumerate(frames):
        cloud = read_points(out / 'training' / 'velodyne' / f'0000{k:03d}.bin', 6)
        assert len(cloud) == len(frame.points)
        index, distance = match(cloud[:, :3].astype(np.float64), frame.points)
        scale = np.abs(frame.points).max()
        assert distance.max() < 4 * np.finfo(np.float32).eps * scale, distance.max()
        assert len(np.unique(index)) == len(index)
        # mmdet3d's order: first returns of TOP, FRONT, SIDE_LEFT, SIDE_RIGHT, REAR, then second
        key = frame.point_ret[index] * 10 + frame.point_laser[index]
        assert np.all(np.diff(key) >= 0) and set(frame.point_laser[index]) == {1, 2, 3, 4, 5}
        second += (frame.point_ret == 1).sum()
        assert np.all(cloud[:, 5] == np.float32(k * 0.1))  # seconds since the first frame
        points = waymo.frame_points(waymo.WaymoSegment(path).frame(k))
        assert np.array_equal(cloud[:, 3], points.intensity)
        assert np.array_equal(cloud[:, 4], points.elongation)
    assert second > 20  # foliage gives second returns

    # the TOP LiDAR's pixels were measured from poses up to ~0.5 m apart: without the per-pixel
    # pose the points would be off by decimetres
    [top] = [scan for scan in waymo.WaymoSegment(path).frame(1).lasers if scan.name == waymo.TOP]
    assert np.ptp(top.pixel_pose[..., 3], axis=1).max() > 0.3
    image = top.returns[0]
    uncompensated = waymo.range_image_to_vehicle(image[..., 0], top.extrinsic,
                                                 waymo.beam_inclinations(64, top.beam_min,
                                                                         top.beam_max,
                                                                         top.beam_values))
    _, distance = match(uncompensated[image[..., 0] > 0], frames[1].points)
    assert np.median(distance) > 0.02 and distance.max() > 0.2


def test_projected_points_land_on_their_objects(segment, converted):
    """Points projected with the written calib (as create_kitti_infos and the dataset do) hit
    pixels showing the object they were measured on, in all five images; Waymo's own per-point
    camera projections agree with the written calib to half a pixel."""
    _, path, frames = segment
    out, _ = converted
    for k, frame in enumerate(frames):
        name = f'0000{k:03d}'
        cloud = read_points(out / 'training' / 'velodyne' / f'{name}.bin', 6)[:, :3]
        index, _ = match(cloud.astype(np.float64), frame.points)
        obj = frame.point_obj[index]
        for camera in range(5):
            calib = read_calib(out / 'training' / 'calib' / f'{name}.txt', camera)
            image = Image.open(out / 'training' / f'image_{camera}' / f'{name}.jpg')
            ids = frame.camera_ids[camera + 1]
            assert image.size == ids.shape[::-1]
            x = np.column_stack([cloud, np.ones(len(cloud))]) @ lidar2img(calib, camera).T
            depth = x[:, 2]
            with np.errstate(divide='ignore', invalid='ignore'):
                u, v = np.round(x[:, :2] / depth[:, None]).T
            height, width = ids.shape
            inside = (depth > 1) & (u >= 0) & (u < width) & (v >= 0) & (v < height)
            u, v, obj_in = u[inside].astype(int), v[inside].astype(int), obj[inside]
            same = ids[v, u] == obj_in
            near = np.any([ids[np.clip(v + dv, 0, height - 1), np.clip(u + du, 0, width - 1)]
                           == obj_in for du in (-1, 0, 1) for dv in (-1, 0, 1)], 0)
            # at ~0.5 degree per pixel, points at an object's edge round to its neighbour; the
            # parallax between LiDARs and cameras hides a few more
            assert inside.sum() > 300 and same.mean() > 0.85, (name, camera, same.mean())
            assert near.mean() > 0.95 and near[obj_in > 0].mean() > 0.9, (name, camera)

        points = waymo.frame_points(waymo.WaymoSegment(path).frame(k, camera_projection=True))
        calib = read_calib(out / 'training' / 'calib' / f'{name}.txt', 0)
        projection = points.camera_projection.reshape(-1, 2, 3)  # two (camera, x, y) a point
        assert (projection[:, 1, 0] > 0).sum() > 100  # cameras overlap: two projections
        for camera in range(1, 6):
            point, slot = np.nonzero(projection[..., 0] == camera)
            x = np.column_stack([points.xyz[point], np.ones(len(point))]) @ lidar2img(
                calib, camera - 1).T
            assert len(point) > 300
            assert np.abs(x[:, :2] / x[:, 2:3] - projection[point, slot, 1:]).max() <= 0.5 + 1e-6


# ------------------------------------------------------------------------------------ the converter
def test_converter_layout_and_resume(segment, converted, tmp_path):
    root, _, frames = segment
    out, log = converted
    ids = [f'0000{k:03d}' for k in range(FRAMES)]
    assert (out / 'ImageSets' / 'train.txt').read_text().split() == ids
    for k, name in enumerate(ids):
        calib = read_calib(out / 'training' / 'calib' / f'{name}.txt', 0)
        assert {f'P{i}' for i in range(5)} | {f'Tr_velo_to_cam_{i}' for i in range(5)} <= set(calib)
        assert np.array_equal(calib['R0_rect'], np.eye(4))
        for i in range(5):
            raw = (out / 'training' / f'image_{i}' / f'{name}.jpg').read_bytes()
            assert raw == frames[k].proto.images[i].image  # the JPEG as stored
    bar = [line for line in log.replace('\r', '\n').splitlines()
           if line.startswith('converting 1 Waymo segments: 100%')]
    assert bar and f' {FRAMES}/{FRAMES} ' in bar[-1], log
    assert log.splitlines()[-1].startswith(f'{FRAMES} frames of 1 segments')

    # resume: a copy with one frame's points gone converts that frame only
    copy = tmp_path / 'copy'
    subprocess.run(['cp', '-r', str(out), str(copy)], check=True)
    (copy / 'training' / 'velodyne' / '0000001.bin').unlink()
    (copy / 'training' / 'calib' / '0000002.txt').write_text('left alone\n')
    summary = w2k.main(['--root', str(root), '--out', str(copy)])
    assert summary['converted'] == 1 and summary['frames'] == FRAMES
    assert (copy / 'training' / 'velodyne' / '0000001.bin').read_bytes() == \
        (out / 'training' / 'velodyne' / '0000001.bin').read_bytes()
    assert (copy / 'training' / 'calib' / '0000002.txt').read_text() == 'left alone\n'
    assert not list(copy.rglob('*.tmp'))


def rewrite(path, out_path, edit):
    """Copy segment ``path`` to ``out_path`` with ``edit(index, frame)`` applied to each Frame."""
    segment = waymo.WaymoSegment(path)
    frames = [segment.proto(i) for i in range(len(segment))]
    for i, frame in enumerate(frames):
        edit(i, frame)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    waymo.write_tfrecord(out_path, (f.SerializeToString() for f in frames))
    return out_path


def test_converter_errors_name_segment_and_frame(segment, tmp_path, capsys):
    _, path, _ = segment
    raw = path.read_bytes()
    lengths = []
    offset = 0
    while offset < len(raw):
        lengths.append(int.from_bytes(raw[offset:offset + 8], 'little'))
        offset += lengths[-1] + 16
    start = [sum(n + 16 for n in lengths[:i]) for i in range(FRAMES)]

    bad = tmp_path / 'truncated' / path.name
    bad.parent.mkdir()
    bad.write_bytes(raw[:start[2] + 100])
    line = convert_error(bad.parent, tmp_path / 'o1', capsys)
    assert str(bad) in line and 'frame 2' in line and 'truncated' in line

    corrupt = bytearray(raw)
    corrupt[start[1] + 12 + 1000] ^= 0x10
    bad = tmp_path / 'data_crc' / path.name
    bad.parent.mkdir()
    bad.write_bytes(bytes(corrupt))
    line = convert_error(bad.parent, tmp_path / 'o2', capsys)
    assert str(bad) in line and 'frame 1' in line and 'bad CRC of the record data' in line

    corrupt = bytearray(raw)
    corrupt[start[2] + 2] ^= 0x01  # the length field
    bad = tmp_path / 'length_crc' / path.name
    bad.parent.mkdir()
    bad.write_bytes(bytes(corrupt))
    line = convert_error(bad.parent, tmp_path / 'o3', capsys)
    assert str(bad) in line and 'frame 2' in line and 'CRC of the record length' in line

    def drop_top(i, frame):
        if i == 1:
            keep = [laser for laser in frame.lasers if laser.name != waymo.TOP]
            del frame.lasers[:]
            frame.lasers.extend(keep)
    bad = rewrite(path, tmp_path / 'no_top' / path.name, drop_top)
    line = convert_error(bad.parent, tmp_path / 'o4', capsys)
    assert str(bad) in line and 'frame 1' in line and 'TOP LiDAR' in line

    def drop_side_left_calibration(i, frame):
        if i == 2:
            keep = [c for c in frame.context.camera_calibrations if c.name != 4]
            del frame.context.camera_calibrations[:]
            frame.context.camera_calibrations.extend(keep)
    bad = rewrite(path, tmp_path / 'no_calib' / path.name, drop_side_left_calibration)
    line = convert_error(bad.parent, tmp_path / 'o5', capsys)
    assert str(bad) in line and 'frame 2' in line and 'camera SIDE_LEFT' in line \
        and 'no calibration' in line


# ------------------------------------------------------------------------------------ training
def test_simipu_trains_on_the_converted_segment(converted, tmp_path):
    """docs/lidar.md's three Waymo commands: convert (the fixture), infos, train with the Waymo
    config, shrunk for a CPU (2 frames per batch: 2 iterations over the 3 frames)."""
    out, _ = converted
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    infos = subprocess.run([sys.executable, 'data_prep/create_kitti_infos.py', '--root', str(out),
                            '--waymo'], cwd=ROOT, capture_output=True, text=True, env=env,
                           timeout=300)
    assert infos.returncode == 0, infos.stderr[-3000:]
    assert len(read_points(out / 'training' / 'velodyne_reduced' / '0000000.bin', 6)) > 500
    work = tmp_path / 'work'
    train = subprocess.run(
        [sys.executable, 'tools/train.py', 'configs/simipu/simipu_voxelnet-r50_8xb4-50e_waymo.py',
         '--work-dir', str(work), '--cfg-options', f'data_root={out}',
         'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False', 'train_dataloader.dataset.num_points=2048',
         'train_dataloader.dataset.pipeline.1.scale_range=(160,64)', 'train_cfg.max_epochs=1',
         'default_hooks.logger.interval=1'], cwd=ROOT, capture_output=True, text=True, env=env,
        timeout=300)
    log = train.stdout + train.stderr
    assert train.returncode == 0, log[-3000:]
    assert (work / 'epoch_1.pth').is_file() and 'Epoch(train) [1][2/2]' in log, log[-3000:]
    assert 'no bad samples skipped' in log
    losses = [float(x) for x in re.findall(r'Epoch\(train\).* loss_intra: ([-.\d]+)', log)]
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert (out / 'waymo_infos_train.pkl').is_file()


def test_v2_parquet_converts_to_the_same_files(segment, converted, tmp_path, capsys):
    """The segment in Waymo's v2 layout (one Parquet file per component) converts to the same
    bytes as the v1 file: points, calibrations, images, ImageSets."""
    _, _, frames = segment
    out, _ = converted
    v2 = tmp_path / 'v2'
    write_segment_v2(v2, frames)
    summary = w2k.main(['--root', str(v2), '--out', str(tmp_path / 'kitti')])
    assert summary['converted'] == FRAMES
    files = sorted(p.relative_to(out) for p in out.rglob('*') if p.is_file() and (
        p.parent.name in ('velodyne', 'calib', 'ImageSets') or p.parent.name.startswith('image_')))
    assert len(files) == FRAMES * 7 + 1
    for name in files:
        assert (tmp_path / 'kitti' / name).read_bytes() == (out / name).read_bytes(), name
    (v2 / 'lidar_pose' / f'{frames[0].proto.context.name}.parquet').unlink()
    line = convert_error(v2, tmp_path / 'o', capsys)
    assert 'lidar_pose' in line and 'missing file' in line
