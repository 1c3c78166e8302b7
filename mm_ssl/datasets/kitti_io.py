"""Readers for KITTI 3D object detection files (Geiger et al. 2012, "Are we ready for Autonomous
Driving? The KITTI Vision Benchmark Suite"), and for Waymo Open Dataset frames converted to the same
layout by mmdet3d's converter. Every reader raises :class:`~mm_ssl.errors.DataError` with a message
that starts with the file path.

Coordinate frames (all right-handed, metres):

- LiDAR (``velodyne``): x forward, y left, z up.
- Rectified camera: x right, y down, z forward. KITTI labels live in the rectified frame of the
  reference camera 0 (every ``P_i`` already holds camera i's baseline); Waymo labels in that of
  camera 0 (FRONT).
- Image: pixel centres at integer (u, v), (0, 0) the centre of the top-left pixel, as in the
  KITTI devkit.

``lidar2cam = R0_rect @ Tr_velo_to_cam`` (KITTI) or ``R0_rect @ Tr_velo_to_cam_i`` (Waymo, identity
``R0_rect``); ``lidar2img = P_i @ lidar2cam``. A LiDAR point projects to
``(u, v) = (l[0], l[1]) / l[2]`` with ``l = lidar2img @ [x, y, z, 1]``; ``l[2]`` is its depth (the
rectified z plus ``P_i[2, 3]``), and only positive depths are in front of the camera.

Boxes: a camera box is mmdet3d's KITTI ``bbox_3d``, ``(x, y, z, l, h, w, ry)`` with (x, y, z) the
bottom centre and ``ry`` the rotation about the camera y axis (0 = heading along camera +x). A LiDAR
box is ``(x, y, z, l, w, h, yaw)`` with (x, y, z) the gravity centre and ``yaw`` about LiDAR z
(0 = heading along +x), the mmdet3d >= 1.0 / OpenPCDet convention.
"""
import logging
from pathlib import Path

import numpy as np
from mmengine.logging import print_log
from PIL import Image

from mm_ssl.errors import DataError
from mm_ssl.ops.projection import project_points

from .text_io import read_text

__all__ = ['CAMERA_KEYS', 'read_text', 'read_points', 'read_calib', 'read_label', 'read_image',
           'velo_to_cam', 'lidar2cam', 'lidar2img', 'project_points', 'lidar_to_image',
           'camera_box_to_lidar', 'mmdet3d_counting_boxes', 'lidar_box_to_camera',
           'points_in_lidar_boxes']

# info keys of each camera index, as mmdet3d names them (Waymo: its CameraName order, 0 = FRONT)
CAMERA_KEYS = dict(kitti=('CAM0', 'CAM1', 'CAM2', 'CAM3'),
                   waymo=('CAM_FRONT', 'CAM_FRONT_LEFT', 'CAM_FRONT_RIGHT', 'CAM_SIDE_LEFT',
                          'CAM_SIDE_RIGHT'))
# KITTI tracking / raw calib files spell some keys differently
_ALIASES = {'R_rect': 'R0_rect', 'Tr_velo_cam': 'Tr_velo_to_cam', 'Tr_imu_velo': 'Tr_imu_to_velo'}
_LABEL_FIELDS = 15  # a 16th field is a detection score


def _require(path):
    path = Path(path)
    if not path.is_file():
        raise DataError(f'{path}: missing file')
    return path


def read_points(path, num_channels=4, drop_invalid=False):
    """A point cloud ``.bin`` of float32 rows: KITTI (x, y, z, intensity), Waymo-in-KITTI
    (x, y, z, intensity, elongation, timestamp).

    Rows holding NaN or inf raise, or are dropped (with a logged count) if ``drop_invalid``.

    Shape:
        returns (N, num_channels) float32.
    """
    path = _require(path)
    size = path.stat().st_size
    if not size:
        raise DataError(f'{path}: empty file (0 bytes; an interrupted copy?)')
    if size % (4 * num_channels):
        raise DataError(f'{path}: {size} bytes is not a multiple of {4 * num_channels} '
                        f'({num_channels} float32 channels per point); wrong num_channels, or '
                        'a truncated file?')
    points = np.fromfile(path, dtype='<f4').reshape(-1, num_channels)
    finite = np.isfinite(points).all(1)
    if not finite.all():
        bad = int((~finite).sum())
        if not drop_invalid:
            raise DataError(f'{path}: {bad} of {len(points)} points hold NaN or inf')
        print_log(f'{path}: dropped {bad} of {len(points)} points holding NaN or inf',
                  logger='current', level=logging.WARNING)
        points = points[finite]
    return points


def _pad(values, key, path, lineno):
    """3x4 or 3x3 row-major values as a 4x4 homogeneous matrix."""
    shape = (3, 3) if key == 'R0_rect' else (3, 4)
    if len(values) != shape[0] * shape[1]:
        raise DataError(f'{path}:{lineno}: {key} has {len(values)} numbers, expected '
                        f'{shape[0] * shape[1]} ({shape[0]}x{shape[1]})')
    m = np.eye(4)
    m[:shape[0], :shape[1]] = np.reshape(values, shape)
    return m


def read_calib(path, camera=2):
    """A KITTI calibration text file: ``KEY: v1 v2 ...`` per line (``KEY v1 ...`` also accepted).

    Projections ``P0..P3`` (Waymo: ``P0..P4``) and the transforms ``Tr_velo_to_cam`` (Waymo:
    ``Tr_velo_to_cam_0..4``), ``Tr_imu_to_velo`` are 3x4, ``R0_rect`` is 3x3; all are returned as
    float64 4x4 homogeneous matrices. A file with per-camera ``Tr_velo_to_cam_i`` and no ``R0_rect``
    gets an identity ``R0_rect``. ``P{camera}`` and the LiDAR-to-camera transform of ``camera``
    must be present.

    Returns:
        dict key -> (4, 4) float64 array (other numeric keys: 1-D arrays).
    """
    calib = {}
    for lineno, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        key, _, rest = line.partition(':') if ':' in line else line.strip().partition(' ')
        key = _ALIASES.get(key.strip(), key.strip())
        try:
            values = [float(v) for v in rest.split()]
        except ValueError:
            values = [float('nan')]
        if not np.isfinite(values).all():
            raise DataError(f'{path}:{lineno}: {key} holds a non-numeric or non-finite value: '
                            f'{line.strip()!r}')
        known = key == 'R0_rect' or (key[:1] == 'P' and key[1:].isdigit()) or key.startswith('Tr_')
        calib[key] = _pad(values, key, path, lineno) if known else np.asarray(values)
    waymo = any(k.startswith('Tr_velo_to_cam_') for k in calib)
    if waymo:
        calib.setdefault('R0_rect', np.eye(4))
    tr = f'Tr_velo_to_cam_{camera}' if waymo else 'Tr_velo_to_cam'
    for key in (f'P{camera}', tr, 'R0_rect'):
        if key not in calib:
            raise DataError(f'{path}: no {key} line (needed to project LiDAR points into '
                            f'camera {camera})')
    return calib


def read_label(path):
    """A KITTI label file, one object per line: type, truncated, occluded, alpha, bbox (left, top,
    right, bottom pixels), dimensions (h, w, l), location (x, y, z: bottom centre in the rectified
    reference camera frame), rotation_y [, score].

    Returns:
        list of dicts with those keys; ``bbox``, ``dimensions``, ``location`` are float64 arrays
        of 4, 3, 3 values, ``occluded`` an int, ``score`` present only when the file has one.
    """
    objects = []
    for lineno, line in enumerate(read_text(path).splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) not in (_LABEL_FIELDS, _LABEL_FIELDS + 1):
            raise DataError(f'{path}:{lineno}: {len(fields)} fields, expected {_LABEL_FIELDS} '
                            f'(or {_LABEL_FIELDS + 1} with a score): {line.strip()!r}')
        try:
            v = [float(x) for x in fields[1:]]
        except ValueError:
            raise DataError(f'{path}:{lineno}: non-numeric value: {line.strip()!r}') from None
        obj = dict(type=fields[0], truncated=v[0], occluded=int(v[1]), alpha=v[2],
                   bbox=np.array(v[3:7]), dimensions=np.array(v[7:10]),
                   location=np.array(v[10:13]), rotation_y=v[13])
        if len(v) == _LABEL_FIELDS:
            obj['score'] = v[14]
        objects.append(obj)
    return objects


def read_image(path):
    """A camera image (PNG, JPEG, ...) decoded in full, as an RGB ``PIL.Image``; a file that does
    not decode (garbage, truncated) raises :class:`DataError`."""
    path = _require(path)
    try:
        with Image.open(path) as im:
            return im.convert('RGB')
    except (OSError, SyntaxError, ValueError) as exc:  # PIL raises all three for bad files
        raise DataError(f'{path}: cannot decode image ({exc})') from exc


def velo_to_cam(calib, camera=2):
    """``Tr_velo_to_cam`` of ``camera`` (4x4), or None: KITTI shares one for all cameras (P_i
    holds the baseline), Waymo has one per camera."""
    return calib.get(f'Tr_velo_to_cam_{camera}', calib.get('Tr_velo_to_cam'))


def lidar2cam(calib, camera=2):
    """4x4 LiDAR -> rectified camera transform ``R0_rect @ Tr_velo_to_cam``."""
    return calib['R0_rect'] @ velo_to_cam(calib, camera)


def lidar2img(calib, camera=2):
    """4x4 LiDAR -> image matrix ``P_camera @ R0_rect @ Tr_velo_to_cam``."""
    return calib[f'P{camera}'] @ lidar2cam(calib, camera)


def lidar_to_image(points_xyz, calib, camera=2):
    """Project LiDAR points into image ``camera`` with ``P · R0_rect · Tr_velo_to_cam``.

    Shape:
        points_xyz: (N, 3); returns uv (N, 2), depth (N,) float64.
    """
    return project_points(np.asarray(points_xyz, dtype=np.float64), lidar2img(calib, camera))


def _transform(m, xyz):
    return xyz @ m[:3, :3].T + m[:3, 3]


def camera_box_to_lidar(boxes, lidar2cam):
    """Camera boxes ``(x, y, z, l, h, w, ry)`` (bottom centre) to LiDAR boxes
    ``(x, y, z, l, w, h, yaw)`` (gravity centre).

    The gravity centre (bottom centre moved up by h/2 along camera -y) and the heading vector
    ``(cos ry, 0, -sin ry)`` are mapped through the inverse of ``lidar2cam``; yaw is the heading's
    angle in the LiDAR x-y plane. With axis-aligned frames this is mmdet3d's / OpenPCDet's
    ``yaw = -ry - pi/2``; for KITTI's slightly tilted ``Tr_velo_to_cam`` it keeps the box centre
    exact where they shift z in the LiDAR frame.

    Shape:
        boxes: (M, 7); returns (M, 7) float64.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 7)
    cam2lidar = np.linalg.inv(lidar2cam)
    centre = boxes[:, :3].copy()
    centre[:, 1] -= boxes[:, 4] / 2
    heading = np.stack([np.cos(boxes[:, 6]), 0 * boxes[:, 6], -np.sin(boxes[:, 6])], 1)
    heading = heading @ cam2lidar[:3, :3].T
    yaw = np.arctan2(heading[:, 1], heading[:, 0])
    return np.concatenate([_transform(cam2lidar, centre), boxes[:, [3, 5, 4]], yaw[:, None]], 1)


def mmdet3d_counting_boxes(boxes, lidar2cam):
    """The LiDAR boxes mmdet3d's KITTI converter counts ``num_lidar_pts`` in, for camera boxes
    ``(x, y, z, l, h, w, ry)`` (bottom centre).

    mmdet3d (``box_camera_to_lidar`` then ``points_in_rbbox(..., origin=(0.5, 0.5, 0))``) maps
    only the bottom centre ``b`` through the calibration and lets the box rise by h along LiDAR
    +z, with ``yaw = -ry - pi/2``: ``z_centre = (lidar2cam^-1 b)_z + h/2``. KITTI's
    ``R0_rect · Tr_velo_to_cam`` is tilted by a fraction of a degree, so this box leans against
    the labelled one (:func:`camera_box_to_lidar` maps the gravity centre and the heading); on a
    near car the counts differ by several percent. The infos follow mmdet3d, whose database
    sampler filters on these counts.

    Shape:
        boxes: (M, 7); returns (M, 7) float64 ``(x, y, z, l, w, h, yaw)``, gravity centre.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 7)
    centre = _transform(np.linalg.inv(lidar2cam), boxes[:, :3])
    centre[:, 2] += boxes[:, 4] / 2
    return np.concatenate([centre, boxes[:, [3, 5, 4]], -boxes[:, 6:7] - np.pi / 2], 1)


def lidar_box_to_camera(boxes, lidar2cam):
    """Inverse of :func:`camera_box_to_lidar`: LiDAR ``(x, y, z, l, w, h, yaw)`` to camera
    ``(x, y, z, l, h, w, ry)``, ry in (-pi, pi]. Exact while LiDAR z is parallel to camera -y; a
    tilt between them (KITTI: a fraction of a degree) cannot be held by either 7-value box, and
    the heading's round trip is then off by a term of second order in the tilt.

    Shape:
        boxes: (M, 7); returns (M, 7) float64.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 7)
    lidar2cam = np.asarray(lidar2cam, dtype=np.float64)
    heading = np.stack([np.cos(boxes[:, 6]), np.sin(boxes[:, 6]), 0 * boxes[:, 6]], 1)
    heading = heading @ lidar2cam[:3, :3].T
    ry = np.arctan2(-heading[:, 2], heading[:, 0])
    bottom = _transform(lidar2cam, boxes[:, :3])
    bottom[:, 1] += boxes[:, 5] / 2
    return np.concatenate([bottom, boxes[:, [3, 5, 4]], ry[:, None]], 1)


def points_in_lidar_boxes(xyz, boxes):
    """Which points lie inside which LiDAR boxes ``(x, y, z, l, w, h, yaw)`` (faces included).

    Shape:
        xyz: (N, 3), boxes: (M, 7); returns (N, M) bool.
    """
    xyz, boxes = np.asarray(xyz, dtype=np.float64), np.asarray(boxes, dtype=np.float64)
    d = xyz[:, None, :] - boxes[None, :, :3]
    c, s = np.cos(boxes[:, 6]), np.sin(boxes[:, 6])
    along, across = d[..., 0] * c + d[..., 1] * s, -d[..., 0] * s + d[..., 1] * c
    return ((np.abs(along) <= boxes[:, 3] / 2) & (np.abs(across) <= boxes[:, 4] / 2)
            & (np.abs(d[..., 2]) <= boxes[:, 5] / 2))
