"""Synthetic Waymo Open Dataset segments: the procedural street scenes of
:mod:`mm_ssl.synthetic.scene` driven through by a Waymo-like vehicle, written as real v1.x
segment files (TFRecord framing, ``dataset_pb2.Frame`` protos) or in the v2 Parquet layout, for
tests without Waymo data.

Sensors, placed and oriented as on Waymo's vehicles (Sun et al. 2020), at a reduced resolution:

- TOP LiDAR (64 rows, ``azimuth_steps`` columns, 75 m): explicit, non-uniform beam inclinations
  from -17.6 to +2.4 degrees (denser towards the horizon), and a per-pixel vehicle pose: the
  vehicle moves while the LiDAR spins, and each pixel is measured from the pose at its time.
- FRONT, SIDE_LEFT, SIDE_RIGHT, REAR LiDARs (``side_rows`` x ``side_columns``, 20 m): uniform
  inclinations from -90 to +30 degrees, a 180 degree horizontal field of view each, measured
  from the frame's pose (Waymo gives no per-pixel pose for them).
- FRONT, FRONT_LEFT, FRONT_RIGHT (``width`` x 2/3 ``width``) and SIDE_LEFT, SIDE_RIGHT
  (``width`` x 0.46 ``width``) pinhole cameras (zero distortion), 50 degree horizontal field of
  view, exposed at the frame's pose.

Range images follow Waymo's conventions exactly as :mod:`mm_ssl.datasets.waymo` reads them
(channels range, intensity, elongation, no-label-zone flag -1; column w looks along the
vehicle-frame azimuth ``pi (1 - (2w + 1) / W)``; row 0 is the highest beam). First returns are
the nearest surface; a ray whose first return is tree foliage gets a second return from the
next surface behind the foliage. Camera projections hold the pixel ``(round(u), round(v))`` of
the first two cameras (in name order) that see a point, with pixel centres at integer
coordinates.

The world (global) frame is the scene's frame with the ground at height 0 under the origin;
the vehicle frame has its origin on the ground, x forward, y left, z up. The vehicle drives
forward along x at ``speed`` m/s with a slight yaw rate, following the ground's slope (roll,
pitch). Pose parameters are rounded to float32 before any ray is cast, so the stored poses
(``MatrixFloat``) are exactly those the rays were cast from. Everything random comes from the
generator passed in.
"""
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from . import scene as ss
from mm_ssl.datasets.waymo import (WAYMO_TO_KITTI_CAMERA, column_azimuths, dataset_pb2,
                                   decode_frame, rotation_rpy, write_tfrecord)

__all__ = ['LidarSpec', 'CameraSpec', 'default_lidars', 'default_cameras', 'SyntheticFrame',
           'make_segment', 'write_segment', 'write_segment_v2', 'top_inclinations']

FRAME_PERIOD = 0.1  # s: Waymo's 10 Hz
SPIN_PERIOD = 0.1   # s: one TOP LiDAR revolution per frame
EPOCH_MICROS = 1_557_000_000_000_000  # a plausible 2019 Unix time for the first frame
_CAMERA_HFOV = np.radians(50.)


@dataclass(frozen=True)
class LidarSpec:
    """A LiDAR: ``name`` (dataset_pb2.LaserName), mounting (x, y, z) in the vehicle frame with
    ``yaw`` and ``pitch`` (sensor -> vehicle rotation ``Rz(yaw) · Ry(pitch)``), a range image of
    ``rows`` x ``columns``, beam inclinations (radians) ``explicit`` or uniform in
    [``incl_min``, ``incl_max``], horizontal field of view +-``half_fov`` about its x axis."""
    name: int
    xyz: tuple
    yaw: float
    pitch: float
    rows: int
    columns: int
    incl_min: float
    incl_max: float
    max_range: float
    half_fov: float = np.pi
    explicit: bool = False

    @property
    def extrinsic(self):
        """Sensor -> vehicle transform. Shape: (4, 4)"""
        m = np.eye(4)
        m[:3, :3], m[:3, 3] = rotation_rpy(0., self.pitch, self.yaw), self.xyz
        return m

    def inclinations(self):
        """Beam inclinations as the calibration stores them, lowest first. Shape: (rows,)"""
        if self.explicit:
            return top_inclinations(self.rows, self.incl_min, self.incl_max)
        return self.incl_min + (np.arange(self.rows) + 0.5) / self.rows * (self.incl_max
                                                                           - self.incl_min)


@dataclass(frozen=True)
class CameraSpec:
    """A pinhole camera: ``name`` (dataset_pb2.CameraName), mounting (x, y, z) and ``yaw`` in the
    vehicle frame, image ``width`` x ``height``, focal length from a 50 degree horizontal field
    of view, principal point half a pixel off the centre (as real calibrations are off)."""
    name: int
    xyz: tuple
    yaw: float
    width: int
    height: int

    @property
    def extrinsic(self):
        """Camera (x forward, y left, z up) -> vehicle transform. Shape: (4, 4)"""
        m = np.eye(4)
        m[:3, :3], m[:3, 3] = rotation_rpy(0., 0., self.yaw), self.xyz
        return m

    @property
    def intrinsic(self):
        """Waymo's 9 values: f_u, f_v, c_u, c_v, k1, k2, p1, p2, k3."""
        f = self.width / 2 / np.tan(_CAMERA_HFOV / 2)
        return [f, f, (self.width - 1) / 2 + 0.5, (self.height - 1) / 2 - 0.5, 0., 0., 0., 0., 0.]


def top_inclinations(rows, lo, hi):
    """Non-uniform beam inclinations, lowest first: ``hi - (hi - lo) (1 - s)^1.6`` for s evenly
    spaced in [0, 1], so beams crowd towards the horizon as on Waymo's TOP LiDAR. Shape: (rows,)"""
    return hi - (hi - lo) * (1 - np.linspace(0., 1., rows)) ** 1.6


def default_lidars(azimuth_steps=256, side_rows=24, side_columns=96):
    """Waymo's five LiDARs at their mounting positions, in name order."""
    L, deg = dataset_pb2.LaserName, np.radians
    side = dict(rows=side_rows, columns=side_columns, incl_min=deg(-90.), incl_max=deg(30.),
                max_range=20., half_fov=np.pi / 2)
    return (LidarSpec(L.TOP, (1.43, 0., 2.184), yaw=deg(8.), pitch=deg(0.5), rows=64,
                      columns=azimuth_steps, incl_min=deg(-17.6), incl_max=deg(2.4),
                      max_range=75., explicit=True),
            LidarSpec(L.FRONT, (4.07, 0., 0.691), yaw=0., pitch=0., **side),
            LidarSpec(L.SIDE_LEFT, (3.245, 1.025, 0.981), yaw=np.pi / 2, pitch=0., **side),
            LidarSpec(L.SIDE_RIGHT, (3.245, -1.025, 0.981), yaw=-np.pi / 2, pitch=0., **side),
            LidarSpec(L.REAR, (-1.154, 0., 0.466), yaw=np.pi, pitch=0., **side))


def default_cameras(width=96):
    """Waymo's five cameras at their mounting positions, in name order; heights in Waymo's
    proportions (1920 x 1280 front, 1920 x 886 side)."""
    C, front, side = dataset_pb2.CameraName, round(width * 2 / 3), round(width * 886 / 1920)
    return (CameraSpec(C.FRONT, (1.54, -0.02, 2.12), 0., width, front),
            CameraSpec(C.FRONT_LEFT, (1.50, 0.09, 2.12), np.pi / 4, width, front),
            CameraSpec(C.FRONT_RIGHT, (1.50, -0.10, 2.12), -np.pi / 4, width, front),
            CameraSpec(C.SIDE_LEFT, (1.43, 0.11, 2.11), np.pi / 2, width, side),
            CameraSpec(C.SIDE_RIGHT, (1.43, -0.12, 2.11), -np.pi / 2, width, side))


@dataclass
class SyntheticFrame:
    """One frame and what the scene says it should hold.

    Shape:
        points (N, 3) float64: every LiDAR return (all LiDARs, both returns) in the vehicle frame
        at the frame's pose, from the exact ray-cast distances; point_obj (N,) uint8 object ids
        (0 ground); point_laser, point_ret (N,); camera_ids: {camera name: (H, W) uint8 object
        id per pixel, 0 ground or sky}; pose (4, 4) vehicle -> world.
    """
    proto: object
    pose: np.ndarray
    points: np.ndarray
    point_obj: np.ndarray
    point_laser: np.ndarray
    point_ret: np.ndarray
    camera_ids: dict = field(default_factory=dict)


def _pose_params(scene, t, start, speed, yaw_rate):
    """Vehicle pose (roll, pitch, yaw, x, y, z) at time ``t``, float32-rounded: along x from
    ``start`` at ``speed``, yawing at ``yaw_rate``, on the ground and tilted with its slope."""
    yaw = yaw_rate * t
    x, y = start + speed * t, 0.02 * speed * t  # a slight lateral drift
    g0, gx, gy = scene.ground
    forward, left = gx * np.cos(yaw) + gy * np.sin(yaw), -gx * np.sin(yaw) + gy * np.cos(yaw)
    params = (np.arctan(left), -np.arctan(forward), yaw, x, y, scene.ground_height(x, y))
    return np.array(params, np.float32)


def _transform(params):
    """4x4 transform of float32 pose params (roll, pitch, yaw, x, y, z), in float64."""
    p = params.astype(np.float64)
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = rotation_rpy(*p[:3]), p[3:]
    return m


def _sensor_rays(lidar, columns):
    """Unit ray directions in the sensor frame for ``columns`` of its range image, with the
    mask of the pixels inside its field of view.

    Shape:
        columns: (M,) -> dirs (rows, M, 3), in_fov (rows, M)
    """
    azimuth = column_azimuths(lidar.columns, lidar.extrinsic)[columns]
    inclination = lidar.inclinations()[::-1][:, None]  # row 0 the highest beam
    dirs = np.stack(np.broadcast_arrays(np.cos(azimuth) * np.cos(inclination),
                                        np.sin(azimuth) * np.cos(inclination),
                                        np.sin(inclination)), -1)
    wrapped = np.angle(np.exp(1j * azimuth))
    return dirs, np.broadcast_to(np.abs(wrapped) <= lidar.half_fov, dirs.shape[:2])


def _cast_returns(scene, see_through, origin, dirs, in_fov, lidar):
    """First and second returns of rays from ``origin``: (t, obj, prim, scene) per return, t = 0
    where there is none. The second return is the surface behind foliage (``see_through`` is
    the scene without its leaves).

    Shape:
        dirs: (H, M, 3) world directions; in_fov (H, M) -> t, obj, prim: (H, M) each
    """
    first = ss.cast_rays(scene, origin, dirs, lidar.max_range, tile=(8, 16))
    valid = in_fov & np.isfinite(first.t) & (first.t >= 0.5)
    leaves = np.zeros_like(valid)
    hit_prim = np.where(valid, first.prim, 0)
    for i, p in enumerate(scene.prims):
        if p.material == 'leaves':
            leaves |= hit_prim == i + 1
    out = [(np.where(valid, first.t, 0.), np.where(valid, first.obj, 0), hit_prim, scene)]
    t2, obj2, prim2 = np.zeros(valid.shape), np.zeros(valid.shape, int), np.zeros(valid.shape, int)
    if leaves.any():
        second = ss.cast_rays(see_through, origin, dirs[leaves][None], lidar.max_range,
                              tile=(1, 64))
        ok = np.isfinite(second.t[0])
        rows, cols = np.nonzero(leaves)
        t2[rows[ok], cols[ok]] = second.t[0, ok]
        obj2[rows[ok], cols[ok]] = second.obj[0, ok]
        prim2[rows[ok], cols[ok]] = second.prim[0, ok]
    out.append((t2, obj2, prim2, see_through))
    return out


def _features(scene, t, prim, origin, dirs, lidar, ret):
    """Range image channels (range, intensity, elongation, no-label-zone -1) of the pixels with
    t > 0: intensity from reflectivity and incidence, elongation growing at grazing incidence.

    Shape:
        t, prim: (H, M); dirs (H, M, 3) -> (H, M, 4) float32
    """
    image = np.zeros(t.shape + (4,), np.float32)
    image[..., 3] = -1.
    hit = t > 0
    if hit.any():
        d = dirs[hit]
        normal, _, reflectivity = ss.surface(scene, prim[hit], origin + t[hit, None] * d)
        cos_inc = np.abs((normal * d).sum(1))
        intensity = reflectivity * (0.6 + 0.6 * cos_inc) * (1 - 0.3 * t[hit] / lidar.max_range)
        image[hit, 0] = t[hit]
        image[hit, 1] = intensity * (0.5 if ret else 1.)
        image[hit, 2] = 0.1 + 0.5 * (1 - cos_inc)
    return image


def _matrix(array, dtype=np.float32):
    """A zlib-compressed ``MatrixFloat`` (or ``MatrixInt32``) holding ``array``."""
    matrix = dataset_pb2.MatrixFloat() if dtype == np.float32 else dataset_pb2.MatrixInt32()
    matrix.data.extend(np.asarray(array, dtype).ravel().tolist())
    matrix.shape.dims.extend(array.shape)
    return zlib.compress(matrix.SerializeToString())


def _camera_projection(points_world, pose, cameras):
    """Waymo's camera projection channels: (name, x, y) of the first two cameras (name order)
    whose image holds the point, 0 elsewhere.

    Shape:
        points_world: (H, M, 3) -> (H, M, 6) int32
    """
    out = np.zeros(points_world.shape[:2] + (6,), np.int32)
    count = np.zeros(points_world.shape[:2], int)
    for cam in cameras:
        world_to_cam = np.linalg.inv(pose @ cam.extrinsic)
        c = points_world @ world_to_cam[:3, :3].T + world_to_cam[:3, 3]
        f_u, f_v, c_u, c_v = cam.intrinsic[:4]
        with np.errstate(divide='ignore', invalid='ignore'):
            u, v = np.round(f_u * -c[..., 1] / c[..., 0] + c_u), np.round(f_v * -c[..., 2]
                                                                          / c[..., 0] + c_v)
        seen = (c[..., 0] > 0) & (u >= 0) & (u < cam.width) & (v >= 0) & (v < cam.height)
        for slot in (0, 1):
            take = seen & (count == slot)
            out[take, 3 * slot:3 * slot + 3] = np.stack(
                [np.full(take.sum(), cam.name), u[take], v[take]], -1)
        count += seen
    return out


def _scan(scene, see_through, lidar, poses, cameras, frame_pose):
    """One LiDAR's range images: ``poses`` (groups of columns, float32 pose params each) the
    vehicle poses its columns are measured from. Returns the two returns' images, camera
    projections, the pixel pose image (H, W, 6) and the truth: world hits, object ids."""
    H, W = lidar.rows, lidar.columns
    images = [np.zeros((H, W, 4), np.float32) for _ in range(2)]
    projections = [np.zeros((H, W, 6), np.int32) for _ in range(2)]
    pixel_pose = np.zeros((H, W, 6), np.float32)
    truth = [(np.zeros((H, W, 3)), np.zeros((H, W), int)) for _ in range(2)]
    for columns, params in poses:
        sensor_to_world = _transform(params) @ lidar.extrinsic
        dirs, in_fov = _sensor_rays(lidar, columns)
        dirs = dirs @ sensor_to_world[:3, :3].T
        origin = sensor_to_world[:3, 3]
        pixel_pose[:, columns] = params
        for ret, (t, obj, prim, sc) in enumerate(_cast_returns(scene, see_through, origin, dirs,
                                                               in_fov, lidar)):
            images[ret][:, columns] = _features(sc, t, prim, origin, dirs, lidar, ret)
            points = origin + t[..., None] * dirs
            truth[ret][0][:, columns], truth[ret][1][:, columns] = points, obj
            projections[ret][:, columns] = np.where(
                (t > 0)[..., None], _camera_projection(points, frame_pose, cameras), 0)
    return images, projections, pixel_pose, truth


def _jpeg(image):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format='JPEG', quality=95)
    return buffer.getvalue()


def make_segment(rng, frames=3, azimuth_steps=256, side_rows=24, side_columns=96, width=96,
                 pose_steps=16, speed=5., name=None):
    """A segment of ``frames`` frames of one random street
    (:func:`mm_ssl.synthetic.scene.make_scene`).
    The TOP LiDAR's revolution is split into ``pose_steps`` groups of columns, each measured from
    the vehicle pose at its mid time (the frame's timestamp is mid-revolution, column W/2, looking
    forward).

    Returns:
        list of :class:`SyntheticFrame`, their protos ready for :func:`write_segment`.
    """
    scene = ss.make_scene(rng, lidar_height=0.)
    see_through = ss.Scene(scene.ground, [p for p in scene.prims if p.material != 'leaves'],
                           scene.objects, scene.road, scene.sun)
    lidars, cameras = default_lidars(azimuth_steps, side_rows, side_columns), \
        default_cameras(width)
    start, yaw_rate = rng.uniform(-1.6, -1.2), rng.uniform(-0.1, 0.1)
    name = name or f'{rng.integers(10 ** 12):012d}_synthetic'
    context = dataset_pb2.Context(name=name)
    for cam in cameras:
        context.camera_calibrations.add(
            name=cam.name, intrinsic=cam.intrinsic, width=cam.width, height=cam.height,
            rolling_shutter_direction=dataset_pb2.CameraCalibration.GLOBAL_SHUTTER
        ).extrinsic.transform.extend(cam.extrinsic.ravel().tolist())
    for lidar in lidars:
        calibration = context.laser_calibrations.add(
            name=lidar.name, beam_inclination_min=lidar.incl_min,
            beam_inclination_max=lidar.incl_max)
        if lidar.explicit:
            calibration.beam_inclinations.extend(lidar.inclinations().tolist())
        calibration.extrinsic.transform.extend(lidar.extrinsic.ravel().tolist())

    out = []
    for k in range(frames):
        t_frame = k * FRAME_PERIOD
        frame_params = _pose_params(scene, t_frame, start, speed, yaw_rate)
        pose = _transform(frame_params)
        proto = dataset_pb2.Frame(context=context, timestamp_micros=EPOCH_MICROS + round(
            t_frame * 1e6))
        proto.pose.transform.extend(pose.ravel().tolist())
        world_to_vehicle = np.linalg.inv(pose)
        truth = {0: [], 1: []}
        for lidar in lidars:
            if lidar.explicit:  # the spinning TOP: column w at t_frame + ((w + 0.5) / W - 0.5) T
                groups = np.array_split(np.arange(lidar.columns), pose_steps)
                poses = [(g, _pose_params(scene, t_frame + ((g.mean() + 0.5) / lidar.columns
                                                            - 0.5) * SPIN_PERIOD, start, speed,
                                          yaw_rate)) for g in groups]
            else:
                poses = [(np.arange(lidar.columns), frame_params)]
            images, projections, pixel_pose, hits = _scan(scene, see_through, lidar, poses,
                                                          cameras, pose)
            laser = proto.lasers.add(name=lidar.name)
            for ret, ri in enumerate((laser.ri_return1, laser.ri_return2)):
                ri.range_image_compressed = _matrix(images[ret])
                ri.camera_projection_compressed = _matrix(projections[ret], np.int32)
                valid = images[ret][..., 0] > 0
                points = hits[ret][0][valid] @ world_to_vehicle[:3, :3].T + world_to_vehicle[:3, 3]
                truth[ret].append((points, hits[ret][1][valid], lidar.name))
            if lidar.explicit:
                laser.ri_return1.range_image_pose_compressed = _matrix(pixel_pose)
        camera_ids = {}
        for cam in cameras:
            world_to_kitti = WAYMO_TO_KITTI_CAMERA @ np.linalg.inv(pose @ cam.extrinsic)
            f_u, f_v, c_u, c_v = cam.intrinsic[:4]
            calib = dict(P2=np.array([[f_u, 0, c_u, 0], [0, f_v, c_v, 0], [0, 0, 1, 0]]),
                         R0_rect=np.eye(3), Tr_velo_to_cam=world_to_kitti[:3])
            image, ids, _, _ = ss.render_camera(scene, calib, cam.width, cam.height, rng)
            camera_ids[cam.name] = ids
            proto.images.add(name=cam.name, image=_jpeg(image), pose_timestamp=t_frame,
                             shutter=0.).pose.transform.extend(pose.ravel().tolist())
        parts = truth[0] + truth[1]
        out.append(SyntheticFrame(
            proto=proto, pose=pose, points=np.concatenate([p[0] for p in parts]),
            point_obj=np.concatenate([p[1] for p in parts]).astype(np.uint8),
            point_laser=np.concatenate([np.full(len(p[0]), p[2]) for p in parts]),
            point_ret=np.concatenate([np.full(len(p[0]), ret) for ret in (0, 1)
                                      for p in truth[ret]]),
            camera_ids=camera_ids))
    return out


def write_segment(path, frames):
    """Write a segment's frames as a Waymo ``.tfrecord`` file (one serialized Frame each)."""
    write_tfrecord(path, (f.proto.SerializeToString() for f in frames))


def write_segment_v2(root, frames):
    """Write a segment's frames in the v2 layout: ``root/<component>/<segment name>.parquet``
    for the components :class:`~mm_ssl.datasets.waymo.WaymoV2Segment` reads, with the columns
    and Arrow types of ``waymo_open_dataset.v2`` (``Component.schema()``). Values are those of
    the v1 protos, decompressed."""
    context = frames[0].proto.context
    float_list, shape3 = pa.list_(pa.float32()), pa.list_(pa.int32(), 3)
    transform = pa.list_(pa.float64(), 16)
    rows = {component: [] for component in ('lidar', 'lidar_pose', 'vehicle_pose',
                                            'camera_image')}
    for f in frames:
        decoded = decode_frame(f.proto)
        key = {'key.segment_context_name': context.name,
               'key.frame_timestamp_micros': decoded.timestamp_micros}
        rows['vehicle_pose'].append({**key, '[VehiclePoseComponent].world_from_vehicle.transform':
                                     decoded.pose.ravel()})
        for scan in decoded.lasers:
            row = {**key, 'key.laser_name': scan.name}
            for ret, image in scan.returns.items():
                row[f'[LiDARComponent].range_image_return{ret + 1}.values'] = image.ravel()
                row[f'[LiDARComponent].range_image_return{ret + 1}.shape'] = image.shape
            rows['lidar'].append(row)
            if scan.pixel_pose is not None:
                rows['lidar_pose'].append({
                    **key, 'key.laser_name': scan.name,
                    '[LiDARPoseComponent].range_image_return1.values': scan.pixel_pose.ravel(),
                    '[LiDARPoseComponent].range_image_return1.shape': scan.pixel_pose.shape})
        for image in f.proto.images:
            rows['camera_image'].append({
                **key, 'key.camera_name': image.name, '[CameraImageComponent].image': image.image,
                '[CameraImageComponent].pose.transform': list(image.pose.transform),
                '[CameraImageComponent].pose_timestamp': image.pose_timestamp})
    key_types = [('key.segment_context_name', pa.string()),
                 ('key.frame_timestamp_micros', pa.int64())]
    laser = [('key.laser_name', pa.int8())]
    schemas = dict(
        lidar=key_types + laser + [(f'[LiDARComponent].range_image_return{r}.{k}', t)
                                   for r in (1, 2) for k, t in (('values', float_list),
                                                                ('shape', shape3))],
        lidar_pose=key_types + laser + [('[LiDARPoseComponent].range_image_return1.values',
                                         float_list),
                                        ('[LiDARPoseComponent].range_image_return1.shape',
                                         shape3)],
        vehicle_pose=key_types + [('[VehiclePoseComponent].world_from_vehicle.transform',
                                   transform)],
        camera_image=key_types + [('key.camera_name', pa.int8()),
                                  ('[CameraImageComponent].image', pa.binary()),
                                  ('[CameraImageComponent].pose.transform', transform),
                                  ('[CameraImageComponent].pose_timestamp', pa.float64())])
    segment_key = {'key.segment_context_name': context.name}
    rows['lidar_calibration'] = [{
        **segment_key, 'key.laser_name': c.name,
        '[LiDARCalibrationComponent].extrinsic.transform': list(c.extrinsic.transform),
        '[LiDARCalibrationComponent].beam_inclination.min': c.beam_inclination_min,
        '[LiDARCalibrationComponent].beam_inclination.max': c.beam_inclination_max,
        '[LiDARCalibrationComponent].beam_inclination.values':
            list(c.beam_inclinations) if len(c.beam_inclinations) else None}
        for c in context.laser_calibrations]
    schemas['lidar_calibration'] = [
        ('key.segment_context_name', pa.string()), ('key.laser_name', pa.int8()),
        ('[LiDARCalibrationComponent].extrinsic.transform', transform),
        ('[LiDARCalibrationComponent].beam_inclination.min', pa.float64()),
        ('[LiDARCalibrationComponent].beam_inclination.max', pa.float64()),
        ('[LiDARCalibrationComponent].beam_inclination.values', pa.list_(pa.float64()))]
    intrinsic = ('f_u', 'f_v', 'c_u', 'c_v', 'k1', 'k2', 'p1', 'p2', 'k3')
    rows['camera_calibration'] = [{
        **segment_key, 'key.camera_name': c.name,
        **{f'[CameraCalibrationComponent].intrinsic.{k}': v
           for k, v in zip(intrinsic, c.intrinsic)},
        '[CameraCalibrationComponent].extrinsic.transform': list(c.extrinsic.transform),
        '[CameraCalibrationComponent].width': c.width,
        '[CameraCalibrationComponent].height': c.height,
        '[CameraCalibrationComponent].rolling_shutter_direction': c.rolling_shutter_direction}
        for c in context.camera_calibrations]
    schemas['camera_calibration'] = [
        ('key.segment_context_name', pa.string()), ('key.camera_name', pa.int8()),
        *[(f'[CameraCalibrationComponent].intrinsic.{k}', pa.float64()) for k in intrinsic],
        ('[CameraCalibrationComponent].extrinsic.transform', transform),
        ('[CameraCalibrationComponent].width', pa.int32()),
        ('[CameraCalibrationComponent].height', pa.int32()),
        ('[CameraCalibrationComponent].rolling_shutter_direction', pa.int8())]
    for component, schema in schemas.items():
        folder = Path(root) / component
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows[component], pa.schema(schema)),
                       folder / f'{context.name}.parquet')
