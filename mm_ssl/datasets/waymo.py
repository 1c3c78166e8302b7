"""Waymo Open Dataset v1.x perception segments read without TensorFlow: TFRecord framing, ``Frame``
protos, and range images turned into points in numpy.

Sun et al. 2020, "Scalability in Perception for Autonomous Driving: Waymo Open Dataset". The maths
follows the published conversion, ``waymo_open_dataset/utils/range_image_utils.py``
(``compute_inclination``, ``compute_range_image_polar``, ``compute_range_image_cartesian``) and
``frame_utils.convert_range_image_to_point_cloud``; the protos are the official ``dataset_pb2``
(``pip install --no-deps waymo-open-dataset-tf-2-12-0``: a namespace package that imports with
``protobuf`` alone). Checked against ``frame_utils`` itself (TensorFlow 2.21, reading the files of
:mod:`mm_ssl.datasets.synthetic_waymo` with its own TFRecord reader): the same points in the same
order, identical range / intensity / elongation and camera projections, coordinates within
2.3e-5 m (TensorFlow computes in float32, this module in float64).

TFRecord file (TensorFlow's ``record_writer.cc``), one record per ``Frame``::

    uint64 length | uint32 masked_crc32c(length bytes) | data[length] | uint32 masked_crc32c(data)

little-endian, ``masked(c) = ((c >> 15) | (c << 17)) + 0xa282ead8 (mod 2**32)`` with CRC-32C
(Castagnoli, RFC 3720).

Frames (all right-handed, metres): the vehicle frame (x forward, y left, z up) at the frame's
timestamp, ``frame.pose`` its vehicle -> global transform; each LiDAR's ``extrinsic`` maps its
sensor frame to the vehicle frame; each camera's ``extrinsic`` maps its camera frame (x along the
optical axis, y left, z up) to the vehicle frame.
"""
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import google_crc32c
import numpy as np
from google.protobuf.message import DecodeError

from mm_ssl.errors import DataError

try:
    from waymo_open_dataset import dataset_pb2
except ImportError as exc:  # setup.cfg cannot say --no-deps; the Makefile installs it
    raise ImportError('mm_ssl.datasets.waymo needs the Waymo protos: pip install --no-deps '
                      'waymo-open-dataset-tf-2-12-0 (no TensorFlow needed)') from exc

__all__ = ['crc32c', 'masked_crc32c', 'tfrecord_record', 'write_tfrecord', 'WaymoSegment',
           'decode_matrix', 'beam_inclinations', 'column_azimuths', 'rotation_rpy',
           'range_image_to_vehicle', 'FramePoints', 'frame_points', 'kitti_calibration',
           'WAYMO_TO_KITTI_CAMERA', 'LASER_NAMES', 'CAMERA_NAMES']

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
    """One segment file: the records' offsets are found up front (reading 12 header bytes per
    record and checking the length's CRC), each record is read and checked on demand. Errors
    raise :class:`DataError` naming the file and the frame (= record index).

    Example:
        >>> segment = WaymoSegment('segment-123_with_camera_labels.tfrecord')
        >>> frame = segment.frame(0)   # a dataset_pb2.Frame
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

    def frame(self, i: int):
        """Record ``i`` parsed as a ``dataset_pb2.Frame``."""
        frame = dataset_pb2.Frame()
        try:
            frame.ParseFromString(self.record(i))
        except DecodeError as exc:
            raise DataError(f'{self.path}: frame {i}: not a Waymo Frame proto ({exc})') from None
        return frame


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


def beam_inclinations(calibration, height: int) -> np.ndarray:
    """Inclination (elevation, radians) of each range image row, row 0 the highest beam.

    Explicit ``beam_inclinations`` (the TOP LiDAR; stored lowest first) are reversed; otherwise
    (``compute_inclination``) the beams are spaced uniformly between the calibration's min and
    max, half a step in from each: ``incl_i = min + (i + 0.5) / H · (max - min)``, i = 0..H-1,
    then reversed.

    Shape:
        -> (height,) float64
    """
    if len(calibration.beam_inclinations):
        inclinations = np.array(calibration.beam_inclinations, np.float64)
        if len(inclinations) != height:
            raise DataError(f'{LASER_NAMES.get(calibration.name, calibration.name)} LiDAR: '
                            f'{len(inclinations)} beam inclinations for a range image of '
                            f'{height} rows')
    else:
        lo, hi = calibration.beam_inclination_min, calibration.beam_inclination_max
        inclinations = lo + (np.arange(height) + 0.5) / height * (hi - lo)
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


def _laser_images(laser, top_pose=False, camera_projection=False):
    """Decoded range images (and TOP pixel pose, camera projections) of one ``Laser``."""
    name = LASER_NAMES.get(laser.name, str(laser.name))
    out = []
    for ret, ri in enumerate((laser.ri_return1, laser.ri_return2)):
        if not ri.range_image_compressed:
            continue
        what = f'{name} LiDAR, return {ret + 1}'
        image = decode_matrix(ri.range_image_compressed, f'{what} range image')
        if image.ndim != 3 or image.shape[2] < 3:
            raise DataError(f'{what}: range image of shape {image.shape}, expected (H, W, 4)')
        pose = projection = None
        if top_pose and ret == 0:
            if not ri.range_image_pose_compressed:
                raise DataError(f'{what}: no per-pixel vehicle pose (range_image_pose_compressed)'
                                ', needed for ego-motion compensation')
            pose = decode_matrix(ri.range_image_pose_compressed, f'{what} pixel pose')
            if pose.shape != image.shape[:2] + (6,):
                raise DataError(f'{what}: pixel pose of shape {pose.shape} for a range image '
                                f'of shape {image.shape}')
        if camera_projection and ri.camera_projection_compressed:
            projection = decode_matrix(ri.camera_projection_compressed,
                                       f'{what} camera projection', np.int32)
        out.append((ret, image, pose, projection))
    return out


def frame_points(frame, camera_projection: bool = False) -> FramePoints:
    """All points of a ``dataset_pb2.Frame``: every LiDAR, both returns, in the vehicle frame
    at ``frame.pose`` (:func:`range_image_to_vehicle`); the TOP LiDAR's pixels are ego-motion
    compensated with its per-pixel pose, as Waymo's conversion does (it has no pose for the
    others). Raises :class:`DataError` for a frame without the TOP LiDAR, a LiDAR without
    calibration, or a range image that does not decode."""
    calibrations = {c.name: c for c in frame.context.laser_calibrations}
    lasers = {laser.name: laser for laser in frame.lasers}
    if TOP not in lasers or not lasers[TOP].ri_return1.range_image_compressed:
        raise DataError('no TOP LiDAR range image (every Waymo v1 frame has one; a frame cut '
                        'from another dataset?)')
    frame_pose = np.array(frame.pose.transform, np.float64).reshape(4, 4)
    parts = []  # (ret, laser name, points and features of pixels with range > 0)
    for name in sorted(lasers):
        if name not in calibrations:
            raise DataError(f'{LASER_NAMES.get(name, name)} LiDAR has range images but no '
                            'calibration in frame.context.laser_calibrations')
        calibration = calibrations[name]
        extrinsic = np.array(calibration.extrinsic.transform, np.float64).reshape(4, 4)
        images = _laser_images(lasers[name], name == TOP, camera_projection)
        top_pose = images[0][2] if name == TOP else None
        for ret, image, _, projection in images:
            inclinations = beam_inclinations(calibration, image.shape[0])
            xyz = range_image_to_vehicle(image[..., 0], extrinsic, inclinations, top_pose,
                                         frame_pose if name == TOP else None)
            row, col = np.nonzero(image[..., 0] > 0)
            parts.append((ret, name, xyz[row, col], image[row, col, :3], row, col,
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
        camera_projection=np.concatenate(projections) if camera_projection and all(
            p is not None for p in projections) else None)


# ----------------------------------------------------------------------------- cameras
def kitti_calibration(frame) -> dict:
    """Camera calibrations in mmdet3d's Waymo-in-KITTI convention: per camera i = name - 1
    (0 FRONT, 1 FRONT_LEFT, 2 FRONT_RIGHT, 3 SIDE_LEFT, 4 SIDE_RIGHT)

        P_i = [[f_u, 0, c_u, 0], [0, f_v, c_v, 0], [0, 0, 1, 0]]
        Tr_velo_to_cam_i = A · E_i^-1       (E_i camera -> vehicle, A Waymo -> KITTI axes)

    and an identity ``R0_rect``, so that a vehicle-frame point projects to
    ``u = f_u · (-y_c / x_c) + c_u``, ``v = f_v · (-z_c / x_c) + c_v`` in camera coordinates
    (x_c, y_c, z_c) = E_i^-1 · p. The distortion terms (k1, k2, p1, p2, k3) have no place in
    this layout and are dropped, as mmdet3d's converter drops them.

    Returns:
        {'P0': (3, 4), ..., 'R0_rect': (3, 3), 'Tr_velo_to_cam_0': (3, 4), ...} float64, for
        the cameras the frame calibrates, in name order.
    """
    projections, transforms = {}, {}
    for camera in sorted(frame.context.camera_calibrations, key=lambda c: c.name):
        if len(camera.intrinsic) < 4:
            raise DataError(f'camera {CAMERA_NAMES.get(camera.name, camera.name)}: '
                            f'{len(camera.intrinsic)} intrinsic values, expected 9 (f_u f_v c_u '
                            'c_v k1 k2 p1 p2 k3)')
        f_u, f_v, c_u, c_v = camera.intrinsic[:4]
        i = camera.name - 1
        projections[f'P{i}'] = np.array([[f_u, 0, c_u, 0], [0, f_v, c_v, 0], [0, 0, 1, 0]])
        cam_to_vehicle = np.array(camera.extrinsic.transform, np.float64).reshape(4, 4)
        transforms[f'Tr_velo_to_cam_{i}'] = (WAYMO_TO_KITTI_CAMERA
                                             @ np.linalg.inv(cam_to_vehicle))[:3]
    return {**projections, 'R0_rect': np.eye(3), **transforms}
