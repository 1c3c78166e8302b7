"""Waymo Open Dataset perception segments read without TensorFlow: v1.x TFRecord files of ``Frame``
protos and v2 Parquet components, and range images turned into points in numpy.

Sun et al. 2020, "Scalability in Perception for Autonomous Driving: Waymo Open Dataset". The maths
follows the published conversion, ``waymo_open_dataset/utils/range_image_utils.py``
(``compute_inclination``, ``compute_range_image_polar``, ``compute_range_image_cartesian``) and
``frame_utils.convert_range_image_to_point_cloud``; the protos are the official ``dataset_pb2``
(``pip install --no-deps waymo-open-dataset-tf-2-12-0``: a namespace package that imports with
``protobuf`` alone). Checked against ``frame_utils`` itself (TensorFlow 2.21, reading the files of
:mod:`mm_ssl.synthetic.waymo` with its own TFRecord reader), and against v2's
``lidar_utils.convert_range_image_to_point_cloud`` on the same segments in the v2 layout: the same
points in the same order, identical range / intensity / elongation and camera projections,
coordinates within 2.3e-5 m (TensorFlow computes in float32, this module in float64).

TFRecord file (TensorFlow's ``record_writer.cc``), one record per ``Frame``::

    uint64 length | uint32 masked_crc32c(length bytes) | data[length] | uint32 masked_crc32c(data)

little-endian, ``masked(c) = ((c >> 15) | (c << 17)) + 0xa282ead8 (mod 2**32)`` with CRC-32C
(Castagnoli, RFC 3720).

v2 (Parquet): one file per segment in each component folder (``lidar/``, ``lidar_pose/``,
``lidar_calibration/``, ``vehicle_pose/``, ``camera_image/``, ``camera_calibration/``), columns
named as the components of ``waymo_open_dataset.v2`` name them (``key.frame_timestamp_micros``,
``[LiDARComponent].range_image_return1.values``, ...); range images hold the same values as v1's,
uncompressed.

Frames (all right-handed, metres): the vehicle frame (x forward, y left, z up) at the frame's
timestamp, ``frame.pose`` its vehicle -> global transform; each LiDAR's ``extrinsic`` maps its
sensor frame to the vehicle frame; each camera's ``extrinsic`` maps its camera frame (x along the
optical axis, y left, z up) to the vehicle frame.
"""
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import google_crc32c
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from google.protobuf.message import DecodeError

from mm_ssl.errors import DataError

try:
    from waymo_open_dataset import dataset_pb2
except ImportError as exc:  # setup.cfg cannot say --no-deps; the Makefile installs it
    raise ImportError('mm_ssl.datasets.waymo needs the Waymo protos: pip install --no-deps '
                      'waymo-open-dataset-tf-2-12-0 (no TensorFlow needed)') from exc

__all__ = ['crc32c', 'masked_crc32c', 'tfrecord_record', 'write_tfrecord', 'WaymoSegment',
           'WaymoV2Segment', 'V2_COMPONENTS', 'LaserScan', 'CameraCalibration', 'WaymoFrame',
           'decode_frame', 'decode_matrix', 'beam_inclinations', 'column_azimuths',
           'rotation_rpy', 'range_image_to_vehicle', 'FramePoints', 'frame_points',
           'kitti_calibration', 'WAYMO_TO_KITTI_CAMERA', 'LASER_NAMES', 'CAMERA_NAMES']

LASER_NAMES = {v.number: v.name for v in dataset_pb2.LaserName.Name.DESCRIPTOR.values
               if v.number}   # 1 TOP, 2 FRONT, 3 SIDE_LEFT, 4 SIDE_RIGHT, 5 REAR
CAMERA_NAMES = {v.number: v.name for v in dataset_pb2.CameraName.Name.DESCRIPTOR.values
                if v.number}  # 1 FRONT, 2 FRONT_LEFT, 3 FRONT_RIGHT, 4 SIDE_LEFT, 5 SIDE_RIGHT
TOP = dataset_pb2.LaserName.TOP
# Waymo camera frame (x forward, y left, z up) -> KITTI camera frame (x right, y down, z forward)
WAYMO_TO_KITTI_CAMERA = np.array([[0., -1., 0., 0.], [0., 0., -1., 0.], [1., 0., 0., 0.],
                                  [0., 0., 0., 1.]])
_CRC_MASK_DELTA = 0xA282EAD8
_HEADER = struct.Struct('<QI')  # length, masked CRC of the 8 length bytes
_FOOTER = struct.Struct('<I')   # masked CRC of the data


# ----------------------------------------------------------------------------- TFRecord
def crc32c(data) -> int:
    """CRC-32C (Castagnoli polynomial 0x1EDC6F41, reflected, RFC 3720 appendix B.4), in C."""
    return google_crc32c.value(bytes(data))


def masked_crc32c(data) -> int:
    """TFRecord's masked CRC: ``((c >> 15) | (c << 17)) + 0xa282ead8`` mod 2**32, c = CRC-32C.
    Masking keeps a CRC over data that itself holds CRCs from degenerating."""
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + _CRC_MASK_DELTA) & 0xFFFFFFFF


def tfrecord_record(data: bytes) -> bytes:
    """One framed TFRecord record: length, masked CRC of the length, data, masked CRC of it."""
    length = struct.pack('<Q', len(data))
    return length + _FOOTER.pack(masked_crc32c(length)) + data + _FOOTER.pack(masked_crc32c(data))


def write_tfrecord(path, records) -> None:
    """Write ``records`` (bytes each) as an uncompressed TFRecord file."""
    with open(path, 'wb') as f:
        for data in records:
            f.write(tfrecord_record(data))


class WaymoSegment:
    """One v1 segment file: the records' offsets are found up front (reading 12 header bytes per
    record and checking the length's CRC), each record is read and checked on demand. Errors
    raise :class:`DataError` naming the file and the frame (= record index).

    Example:
        >>> segment = WaymoSegment('segment-123_with_camera_labels.tfrecord')
        >>> frame = segment.frame(0)   # a WaymoFrame; segment.proto(0) is the dataset_pb2.Frame
    """

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(f'{self.path}: missing file')
        self.offsets, self.lengths = [], []
        size, offset = self.path.stat().st_size, 0
        with open(self.path, 'rb') as f:
            while offset < size:
                where = f'{self.path}: frame {len(self.offsets)} (record at byte {offset})'
                header = f.read(_HEADER.size)
                if len(header) < _HEADER.size:
                    raise DataError(f'{where}: truncated record header ({len(header)} of '
                                    f'{_HEADER.size} bytes): an interrupted download?')
                length, length_crc = _HEADER.unpack(header)
                if length_crc != masked_crc32c(header[:8]):
                    raise DataError(f'{where}: bad CRC of the record length: a corrupt file, '
                                    'or not a TFRecord file')
                end = offset + _HEADER.size + length + _FOOTER.size
                if end > size:
                    raise DataError(f'{where}: truncated record ({length} data bytes announced, '
                                    f'{size - offset - _HEADER.size} bytes left): an interrupted '
                                    'download?')
                self.offsets.append(offset + _HEADER.size)
                self.lengths.append(length)
                offset = end
                f.seek(offset)

    def __len__(self):
        return len(self.offsets)

    def record(self, i: int) -> bytes:
        """The data of record ``i``, its CRC checked."""
        with open(self.path, 'rb') as f:
            f.seek(self.offsets[i])
            data = f.read(self.lengths[i])
            (crc,) = _FOOTER.unpack(f.read(_FOOTER.size))
        if crc != masked_crc32c(data):
            raise DataError(f'{self.path}: frame {i} (record at byte '
                            f'{self.offsets[i] - _HEADER.size}): bad CRC of the record data: '
                            'a corrupt file')
        return data

    def proto(self, i: int):
        """Record ``i`` parsed as a ``dataset_pb2.Frame``."""
        frame = dataset_pb2.Frame()
        try:
            frame.ParseFromString(self.record(i))
        except DecodeError as exc:
            raise DataError(f'{self.path}: frame {i}: not a Waymo Frame proto ({exc})') from None
        return frame

    def timestamp(self, i: int) -> int:
        """Frame ``i``'s timestamp in microseconds."""
        return self.proto(i).timestamp_micros

    def frame(self, i: int, camera_projection: bool = False):
        """Frame ``i`` decoded (:func:`decode_frame`)."""
        try:
            return decode_frame(self.proto(i), camera_projection)
        except DataError as exc:
            if str(exc).startswith(str(self.path)):
                raise
            raise DataError(f'{self.path}: frame {i}: {exc}') from None


# ----------------------------------------------------------------------------- frames in numpy
@dataclass
class LaserScan:
    """One LiDAR's range images in a frame, with its calibration: ``beam_values`` (explicit beam
    inclinations, lowest first; empty for uniform beams) or ``beam_min`` / ``beam_max``.

    Shape:
        extrinsic (4, 4) sensor -> vehicle; returns {0 or 1: (H, W, 4) float32 range,
        intensity, elongation, no-label-zone flag}; pixel_pose (H, W, 6) roll, pitch, yaw, x, y, z
        (the TOP LiDAR's) or None; camera_projections {0 or 1: (H, W, 6) int32}, where read
    """
    name: int
    extrinsic: np.ndarray
    beam_min: float
    beam_max: float
    beam_values: np.ndarray
    returns: dict
    pixel_pose: np.ndarray | None = None
    camera_projections: dict = field(default_factory=dict)


@dataclass
class CameraCalibration:
    """A camera's ``intrinsic`` (f_u, f_v, c_u, c_v, k1, k2, p1, p2, k3) and ``extrinsic``
    (camera -> vehicle, (4, 4))."""
    name: int
    intrinsic: tuple
    extrinsic: np.ndarray


@dataclass
class WaymoFrame:
    """What the conversion reads of a frame, from a v1 ``Frame`` proto or v2 Parquet rows:
    ``pose`` (vehicle -> global at ``timestamp_micros``, (4, 4)), ``lasers`` (:class:`LaserScan`
    in name order), ``cameras`` ({name: :class:`CameraCalibration`}), ``images`` ({camera name:
    JPEG bytes})."""
    timestamp_micros: int
    pose: np.ndarray
    lasers: list
    cameras: dict
    images: dict


def _transform(values) -> np.ndarray:
    return np.asarray(values, np.float64).reshape(4, 4)


def decode_frame(frame, camera_projection: bool = False) -> WaymoFrame:
    """A v1 ``dataset_pb2.Frame`` with its range images (and, if asked, camera projections)
    decompressed, as ``frame_utils.parse_range_image_and_camera_projection`` does. Raises
    :class:`DataError` for a LiDAR without calibration or a matrix that does not decode."""
    calibrations = {c.name: c for c in frame.context.laser_calibrations}
    lasers = []
    for laser in sorted(frame.lasers, key=lambda laser: laser.name):
        name = LASER_NAMES.get(laser.name, str(laser.name))
        returns, projections, pixel_pose = {}, {}, None
        for ret, ri in enumerate((laser.ri_return1, laser.ri_return2)):
            if not ri.range_image_compressed:
                continue
            what = f'{name} LiDAR, return {ret + 1}'
            returns[ret] = decode_matrix(ri.range_image_compressed, f'{what} range image')
            if camera_projection and ri.camera_projection_compressed:
                projections[ret] = decode_matrix(ri.camera_projection_compressed,
                                                 f'{what} camera projection', np.int32)
        if not returns:
            continue
        if laser.name not in calibrations:
            raise DataError(f'{name} LiDAR has range images but no calibration in '
                            'frame.context.laser_calibrations')
        if laser.ri_return1.range_image_pose_compressed:
            pixel_pose = decode_matrix(laser.ri_return1.range_image_pose_compressed,
                                       f'{name} LiDAR, return 1 pixel pose')
        c = calibrations[laser.name]
        lasers.append(LaserScan(laser.name, _transform(c.extrinsic.transform),
                                c.beam_inclination_min, c.beam_inclination_max,
                                np.array(c.beam_inclinations, np.float64), returns, pixel_pose,
                                projections))
    cameras = {c.name: CameraCalibration(c.name, tuple(c.intrinsic),
                                         _transform(c.extrinsic.transform))
               for c in frame.context.camera_calibrations}
    return WaymoFrame(frame.timestamp_micros, _transform(frame.pose.transform), lasers, cameras,
                      {image.name: image.image for image in frame.images})


# ----------------------------------------------------------------------------- v2 (Parquet)
# the columns read, as the v2 components name them (waymo_open_dataset.v2 ... .schema())
_KEY_TIME, _KEY_LASER, _KEY_CAMERA = ('key.frame_timestamp_micros', 'key.laser_name',
                                      'key.camera_name')
V2_COMPONENTS = ('lidar', 'lidar_pose', 'lidar_calibration', 'vehicle_pose', 'camera_image',
                 'camera_calibration')


def _list_rows(table, column):
    """Per row, the values of a (fixed-size) list column; an empty array for a null."""
    array = table.column(column).combine_chunks()
    lengths = pc.list_value_length(array).fill_null(0).to_numpy()
    flat = pc.list_flatten(array).to_numpy(zero_copy_only=False)
    return np.split(flat, np.cumsum(lengths)[:-1])


class WaymoV2Segment:
    """One v2 segment: the Parquet file named after it in each component folder of ``root``
    (``lidar/``, ``lidar_pose/``, ``lidar_calibration/``, ``vehicle_pose/``, ``camera_image/``,
    ``camera_calibration/``; the layout Waymo distributes). Frames are the vehicle poses in time
    order; a frame's LiDAR and camera rows are read with a filter on its timestamp. Errors raise
    :class:`DataError` naming the file and the frame.
    """

    def __init__(self, root, name):
        self.root, self.name = Path(root), name
        self.path = self.root / 'lidar' / f'{name}.parquet'  # names the segment in messages
        poses = self._read('vehicle_pose')
        times = poses.column(_KEY_TIME).to_numpy()
        order = np.argsort(times, kind='stable')
        self.timestamps = times[order]
        transforms = _list_rows(poses, '[VehiclePoseComponent].world_from_vehicle.transform')
        self.poses = [_transform(transforms[i]) for i in order]
        calibration = self._read('lidar_calibration')
        column = '[LiDARCalibrationComponent].{}'.format
        extrinsics = _list_rows(calibration, column('extrinsic.transform'))
        values = _list_rows(calibration, column('beam_inclination.values'))
        self.laser_calibrations = {
            int(name): (_transform(extrinsics[i]), lo, hi, values[i].astype(np.float64))
            for i, (name, lo, hi) in enumerate(zip(
                calibration.column(_KEY_LASER).to_pylist(),
                calibration.column(column('beam_inclination.min')).to_pylist(),
                calibration.column(column('beam_inclination.max')).to_pylist()))}
        cameras = self._read('camera_calibration')
        column = '[CameraCalibrationComponent].{}'.format
        extrinsics = _list_rows(cameras, column('extrinsic.transform'))
        intrinsics = np.column_stack([cameras.column(column(f'intrinsic.{k}')).to_numpy()
                                      for k in ('f_u', 'f_v', 'c_u', 'c_v', 'k1', 'k2', 'p1',
                                                'p2', 'k3')])
        self.cameras = {int(name): CameraCalibration(int(name), tuple(intrinsics[i]),
                                                     _transform(extrinsics[i]))
                        for i, name in enumerate(cameras.column(_KEY_CAMERA).to_pylist())}

    def _read(self, component, timestamp=None):
        path = self.root / component / f'{self.name}.parquet'
        if not path.is_file():
            raise DataError(f'{path}: missing file (a v2 segment needs {", ".join(V2_COMPONENTS)}'
                            ' under the same root)')
        filters = None if timestamp is None else [(_KEY_TIME, '=', int(timestamp))]
        try:
            return pq.read_table(path, filters=filters)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f'{path}: cannot read it as Parquet ({exc})') from None

    def __len__(self):
        return len(self.timestamps)

    def timestamp(self, i: int) -> int:
        """Frame ``i``'s timestamp in microseconds."""
        return int(self.timestamps[i])

    def frame(self, i: int, camera_projection: bool = False) -> WaymoFrame:
        """Frame ``i`` (camera projections are not read from v2)."""
        time = self.timestamps[i]
        try:
            lidar, pose = self._read('lidar', time), self._read('lidar_pose', time)
            column = '[LiDARComponent].range_image_return{}.{}'.format
            images = {ret: (_list_rows(lidar, column(ret + 1, 'values')),
                            _list_rows(lidar, column(ret + 1, 'shape'))) for ret in (0, 1)}
            pose_values = _list_rows(pose, '[LiDARPoseComponent].range_image_return1.values')
            pose_shapes = _list_rows(pose, '[LiDARPoseComponent].range_image_return1.shape')
            pixel_poses = {int(name): _shaped(pose_values[k], pose_shapes[k], 'pixel pose')
                           for k, name in enumerate(pose.column(_KEY_LASER).to_pylist())}
            lasers = []
            for row, name in sorted(enumerate(lidar.column(_KEY_LASER).to_pylist()),
                                    key=lambda item: item[1]):
                if name not in self.laser_calibrations:
                    raise DataError(f'{LASER_NAMES.get(name, name)} LiDAR has range images but '
                                    'no row in lidar_calibration/')
                returns = {ret: _shaped(values[row], shapes[row], f'return {ret + 1}')
                           for ret, (values, shapes) in images.items() if len(values[row])}
                lasers.append(LaserScan(name, *self.laser_calibrations[name], returns,
                                        pixel_poses.get(name)))
            camera = self._read('camera_image', time)
            images = dict(zip(camera.column(_KEY_CAMERA).to_pylist(),
                              camera.column('[CameraImageComponent].image').to_pylist()))
        except DataError as exc:
            raise DataError(f'{self.path}: frame {i}: {exc}') from None
        return WaymoFrame(int(time), self.poses[i], lasers, self.cameras, images)


def _shaped(values, shape, what):
    if np.prod(shape) != len(values):
        raise DataError(f'{what}: {len(values)} values for the shape {tuple(shape)}')
    return values.astype(np.float32).reshape(shape)


# ----------------------------------------------------------------------------- range images
def decode_matrix(blob: bytes, what: str, dtype=np.float32) -> np.ndarray:
    """A zlib-compressed ``MatrixFloat`` (``dtype`` float32) or ``MatrixInt32`` (int32) as an
    array of its ``shape.dims``. ``what`` names it in errors."""
    matrix = dataset_pb2.MatrixFloat() if dtype == np.float32 else dataset_pb2.MatrixInt32()
    try:
        matrix.ParseFromString(zlib.decompress(blob))
    except (zlib.error, DecodeError) as exc:
        raise DataError(f'{what}: cannot decode the compressed matrix ({exc})') from None
    dims = tuple(matrix.shape.dims)
    if np.prod(dims) != len(matrix.data):
        raise DataError(f'{what}: {len(matrix.data)} values for the shape {dims}')
    return np.asarray(matrix.data, dtype).reshape(dims)


def beam_inclinations(height: int, beam_min: float, beam_max: float, values=()) -> np.ndarray:
    """Inclination (elevation, radians) of each range image row, row 0 the highest beam.

    Explicit ``values`` (the TOP LiDAR's; stored lowest first) are reversed; otherwise
    (``compute_inclination``) the beams are spaced uniformly between min and max, half a step in
    from each: ``incl_i = min + (i + 0.5) / H · (max - min)``, i = 0..H-1, then reversed.

    Shape:
        -> (height,) float64
    """
    if len(values):
        inclinations = np.asarray(values, np.float64)
        if len(inclinations) != height:
            raise DataError(f'{len(inclinations)} beam inclinations for a range image of '
                            f'{height} rows')
    else:
        inclinations = beam_min + (np.arange(height) + 0.5) / height * (beam_max - beam_min)
    return inclinations[::-1]


def column_azimuths(width: int, extrinsic: np.ndarray) -> np.ndarray:
    """Azimuth of each range image column in the sensor frame (``compute_range_image_polar``):

        az_w = ((W - w - 0.5) / W · 2 - 1) · pi - atan2(E[1, 0], E[0, 0]),  w = 0..W-1

    so column w looks along the vehicle-frame azimuth ``pi (1 - (2w + 1) / W)`` (column 0 just
    short of +pi, i.e. backwards, turning clockwise seen from above) for a sensor whose
    extrinsic ``E`` (sensor -> vehicle) is a rotation about z by the yaw ``atan2(E10, E00)``.

    Shape:
        extrinsic: (4, 4) -> (width,) float64
    """
    ratios = (np.arange(width, 0, -1) - 0.5) / width
    return (ratios * 2 - 1) * np.pi - np.arctan2(extrinsic[1, 0], extrinsic[0, 0])


def rotation_rpy(roll, pitch, yaw) -> np.ndarray:
    """``R = Rz(yaw) · Ry(pitch) · Rx(roll)`` (z-y'-x'' intrinsic: roll applied first), as
    ``transform_utils.get_rotation_matrix``.

    Shape:
        roll, pitch, yaw: (...) -> (..., 3, 3)
    """
    cr, sr, cp, sp, cy, sy = np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch), \
        np.cos(yaw), np.sin(yaw)
    return np.stack([np.stack([cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr], -1),
                     np.stack([sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr], -1),
                     np.stack([-sp, cp * sr, cp * cr], -1)], -2)


def range_image_to_vehicle(ranges, extrinsic, inclinations, pixel_pose=None, frame_pose=None):
    """Cartesian points of a range image in the vehicle frame at the frame's timestamp
    (``compute_range_image_cartesian``), in float64 (the TensorFlow code works in float32).

    With inclination θ_h of row h and sensor azimuth α_w of column w (:func:`column_azimuths`),

        p_sensor = r · (cos α cos θ, sin α cos θ, sin θ)
        p_vehicle = R_E · p_sensor + t_E                              (extrinsic E)

    and, for the TOP LiDAR, ego-motion compensation with the pixel's vehicle pose
    P_hw = (R(roll, pitch, yaw), t) at the moment the pixel was measured (:func:`rotation_rpy`):

        p_global = R_hw · p_vehicle + t_hw,   p = F^-1 · p_global      (F = frame.pose)

    Shape:
        ranges: (H, W); extrinsic, frame_pose: (4, 4); inclinations: (H,) row 0 highest;
        pixel_pose: (H, W, 6) roll, pitch, yaw, x, y, z -> (H, W, 3) float64
    """
    ranges = np.asarray(ranges, np.float64)
    azimuth = column_azimuths(ranges.shape[1], extrinsic)[None, :]
    inclination = np.asarray(inclinations, np.float64)[:, None]
    cos_incl = np.cos(inclination)
    points = np.stack(np.broadcast_arrays(np.cos(azimuth) * cos_incl, np.sin(azimuth) * cos_incl,
                                          np.sin(inclination)), -1) * ranges[..., None]
    points = points @ extrinsic[:3, :3].T + extrinsic[:3, 3]
    if pixel_pose is not None:
        pose = np.asarray(pixel_pose, np.float64)
        rotation = rotation_rpy(pose[..., 0], pose[..., 1], pose[..., 2])
        points = np.einsum('hwij,hwj->hwi', rotation, points) + pose[..., 3:]
        world_to_vehicle = np.linalg.inv(frame_pose)
        points = points @ world_to_vehicle[:3, :3].T + world_to_vehicle[:3, 3]
    return points


@dataclass
class FramePoints:
    """The points of one frame, first returns of all LiDARs (by name: TOP, FRONT, SIDE_LEFT,
    SIDE_RIGHT, REAR) then second returns, each LiDAR's in row-major pixel order, as
    ``frame_utils.convert_range_image_to_point_cloud`` lists them (pixels with range > 0).
    ``camera_projection`` holds Waymo's two (camera name, x, y) per point, x and y in pixels
    (0 name: none), where the file has them.

    Shape:
        xyz (N, 3) float64 in the vehicle frame; range, intensity, elongation (N,) float32;
        laser, ret (0 or 1), row, col (N,) int; camera_projection (N, 6) int32 or None
    """
    xyz: np.ndarray
    range: np.ndarray
    intensity: np.ndarray
    elongation: np.ndarray
    laser: np.ndarray
    ret: np.ndarray
    row: np.ndarray
    col: np.ndarray
    camera_projection: np.ndarray | None = None


def frame_points(frame: WaymoFrame) -> FramePoints:
    """All points of a frame: every LiDAR, both returns, in the vehicle frame at the frame's
    pose (:func:`range_image_to_vehicle`); the TOP LiDAR's pixels are ego-motion compensated
    with its per-pixel pose, as Waymo's conversion does (it has no pose for the others). Raises
    :class:`DataError` for a frame without the TOP LiDAR or its pixel pose, or range images
    that do not fit their calibration."""
    scans = {scan.name: scan for scan in frame.lasers}
    if TOP not in scans or 0 not in scans[TOP].returns:
        raise DataError('no TOP LiDAR range image (every Waymo frame has one; a frame cut from '
                        'another dataset?)')
    if scans[TOP].pixel_pose is None:
        raise DataError('TOP LiDAR: no per-pixel vehicle pose, needed for ego-motion '
                        'compensation')
    parts = []  # (ret, laser name, points and features of the pixels with range > 0)
    for scan in frame.lasers:
        name = LASER_NAMES.get(scan.name, str(scan.name))
        pose = scan.pixel_pose if scan.name == TOP else None
        for ret, image in sorted(scan.returns.items()):
            what = f'{name} LiDAR, return {ret + 1}'
            if image.ndim != 3 or image.shape[2] < 3:
                raise DataError(f'{what}: range image of shape {image.shape}, expected '
                                '(H, W, 4)')
            if pose is not None and pose.shape != image.shape[:2] + (6,):
                raise DataError(f'{what}: pixel pose of shape {pose.shape} for a range image '
                                f'of shape {image.shape}')
            try:
                inclinations = beam_inclinations(image.shape[0], scan.beam_min, scan.beam_max,
                                                 scan.beam_values)
            except DataError as exc:
                raise DataError(f'{what}: {exc}') from None
            xyz = range_image_to_vehicle(image[..., 0], scan.extrinsic, inclinations, pose,
                                         frame.pose)
            row, col = np.nonzero(image[..., 0] > 0)
            projection = scan.camera_projections.get(ret)
            parts.append((ret, scan.name, xyz[row, col], image[row, col, :3], row, col,
                          None if projection is None else projection[row, col]))
    parts.sort(key=lambda p: (p[0], p[1]))  # stable: first returns of all LiDARs first
    features = np.concatenate([p[3] for p in parts]).astype(np.float32)
    projections = [p[6] for p in parts]
    return FramePoints(
        xyz=np.concatenate([p[2] for p in parts]), range=features[:, 0],
        intensity=features[:, 1], elongation=features[:, 2],
        laser=np.concatenate([np.full(len(p[4]), p[1]) for p in parts]),
        ret=np.concatenate([np.full(len(p[4]), p[0]) for p in parts]),
        row=np.concatenate([p[4] for p in parts]), col=np.concatenate([p[5] for p in parts]),
        camera_projection=None if any(p is None for p in projections)
        else np.concatenate(projections))


# ----------------------------------------------------------------------------- cameras
def kitti_calibration(cameras: dict) -> dict:
    """Camera calibrations ({name: :class:`CameraCalibration`}) in mmdet3d's Waymo-in-KITTI
    convention: per camera i = name - 1 (0 FRONT, 1 FRONT_LEFT, 2 FRONT_RIGHT, 3 SIDE_LEFT,
    4 SIDE_RIGHT)

        P_i = [[f_u, 0, c_u, 0], [0, f_v, c_v, 0], [0, 0, 1, 0]]
        Tr_velo_to_cam_i = A · E_i^-1       (E_i camera -> vehicle, A Waymo -> KITTI axes)

    and an identity ``R0_rect``, so that a vehicle-frame point projects to
    ``u = f_u · (-y_c / x_c) + c_u``, ``v = f_v · (-z_c / x_c) + c_v`` in camera coordinates
    (x_c, y_c, z_c) = E_i^-1 · p. The distortion terms (k1, k2, p1, p2, k3) have no place in
    this layout and are dropped, as mmdet3d's converter drops them.

    Returns:
        {'P0': (3, 4), ..., 'R0_rect': (3, 3), 'Tr_velo_to_cam_0': (3, 4), ...} float64, for
        the cameras given, in name order.
    """
    projections, transforms = {}, {}
    for name, camera in sorted(cameras.items()):
        if len(camera.intrinsic) < 4:
            raise DataError(f'camera {CAMERA_NAMES.get(name, name)}: {len(camera.intrinsic)} '
                            'intrinsic values, expected 9 (f_u f_v c_u c_v k1 k2 p1 p2 k3)')
        f_u, f_v, c_u, c_v = camera.intrinsic[:4]
        projections[f'P{name - 1}'] = np.array([[f_u, 0, c_u, 0], [0, f_v, c_v, 0],
                                                [0, 0, 1, 0]])
        transforms[f'Tr_velo_to_cam_{name - 1}'] = (WAYMO_TO_KITTI_CAMERA
                                                    @ np.linalg.inv(camera.extrinsic))[:3]
    return {**projections, 'R0_rect': np.eye(3), **transforms}
