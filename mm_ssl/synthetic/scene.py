"""Procedural driving scenes, ray-cast with ONE geometry for a spinning LiDAR and a KITTI camera.

A scene is a tilted ground plane plus primitives (oriented boxes, cylinders, spheres) grouped into
objects: cars and vans, pedestrians, cyclists, poles, trees, buildings and walls along a road.
Both sensors intersect the same primitives analytically, so a LiDAR point projected with the
written calibration lands on the pixel that shows the surface it hit.

Frames: the world frame IS the LiDAR frame (x forward, y left, z up, origin at the sensor, which
is ``lidar_height`` above the ground below it). Camera quantities follow KITTI: the rectified
reference frame ``rect`` (x right, y down, z forward) is ``R0_rect · Tr_velo_to_cam · x_velo``;
pixels of image 2 are ``P2 · rect``; pixel (u, v) has its centre at integer (u, v), so a
projected point belongs to pixel ``round(u), round(v)``. "Depth" is the third coordinate of
``P2 · R0_rect · Tr_velo_to_cam · [x y z 1]``.

Object id 0 is the ground (and, in images, the sky); objects are numbered from 1 (at most 255,
so ids fit a uint8 map). Everything random comes from the ``numpy.random.Generator`` passed in,
so a frame is a pure function of its generator's seed.
"""
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.spatial.transform import Rotation

LABELLED_CLASSES = ('Car', 'Van', 'Pedestrian', 'Cyclist')
KITTI_SIZE = (1242, 375)  # image width, height
# KITTI's colour camera intrinsics (f, cx, cy) and the camera centres of P0..P3 as offsets t
# with P_i = K [I | t_i] (t = K^-1 P_i[:, 3]; P2 carries the small baseline term).
KITTI_INTRINSICS = (721.5377, 609.5593, 172.854)
KITTI_OFFSETS = ((0., 0., 0.), (-0.53716, 0., 0.), (0.059849, -0.000358, 0.002746),
                 (-0.472906, 0.002395, 0.002730))
# Tr_velo_to_cam = small rotation · axes swap (velo x -> cam z, y -> -x, z -> -y), KITTI-like
# rotation vectors and translations; R0_rect a ~0.75 degree rotation as in KITTI.
_VELO_TO_CAM_AXES = np.array([[0., -1., 0.], [0., 0., -1.], [1., 0., 0.]])
_TR_ROTVEC, _TR_T = (-0.0148, 0.0075, -0.00073), (-0.00407, -0.07632, -0.27178)
_R0_ROTVEC = (0.0043, -0.0074, -0.0099)
_TR_IMU_TO_VELO = np.array([[9.999976e-01, 7.553071e-04, -2.035826e-03, -8.086759e-01],
                            [-7.854027e-04, 9.998898e-01, -1.482298e-02, 3.195559e-01],
                            [2.024406e-03, 1.482454e-02, 9.998881e-01, -7.997231e-01]])
CALIB_KEYS = ('P0', 'P1', 'P2', 'P3', 'R0_rect', 'Tr_velo_to_cam', 'Tr_imu_to_velo')
_EPS = 1e-6
_HASH = np.random.default_rng(0).random(4096)  # lattice values of the texture noise

# material: (reflectivity, fixed colour or None for the object's own colour)
MATERIALS = dict(paint=(0.35, None), cabin=(0.2, None), tyre=(0.05, (0.06, 0.06, 0.06)),
                 cloth=(0.25, None), skin=(0.3, (0.86, 0.66, 0.52)), metal=(0.55, None),
                 bark=(0.2, (0.36, 0.24, 0.14)), leaves=(0.45, None), facade=(0.3, None),
                 concrete=(0.3, None))


def rot_z(yaw):
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.], [s, c, 0.], [0., 0., 1.]])


# turns a primitive's local z axis onto the y axis (wheels are cylinders across the object)
ROT_Z_TO_Y = Rotation.from_euler('x', 90, degrees=True).as_matrix()


@dataclass
class Primitive:
    """One analytic surface in the world frame. ``rot`` maps local to world axes.
    ``size``: box half extents (3,); cylinder (radius, half height), axis = local z; sphere
    (radius,)."""
    kind: str
    centre: np.ndarray
    rot: np.ndarray
    size: np.ndarray
    obj: int
    material: str

    @property
    def extent(self):
        """Half extents of a local bounding box (for ray culling)."""
        r = self.size[0]
        return self.size if self.kind == 'box' else np.array(
            [r, r, self.size[1] if self.kind == 'cylinder' else r])


@dataclass
class SceneObject:
    """An object: its box (bottom centre in the world frame, dims (l, w, h) along its own x, y,
    z, yaw about world z) encloses all its primitives; labelled classes get it as KITTI label."""
    id: int
    cls: str
    bottom: np.ndarray
    dims: np.ndarray
    yaw: float
    colours: np.ndarray  # (2, 3) main and secondary colour (trousers, roof...)


@dataclass
class Scene:
    """Ground ``z = g0 + gx x + gy y`` (``ground = (g0, gx, gy)``), primitives, objects, a unit
    sun direction and a straight road: ``angle`` of its axis to x, ``offset`` of its centre line
    from the origin, ``lanes`` of width ``lane``, ``kerb`` (distance of the kerbs from the centre
    line: lanes plus parking strips) and ``sidewalk`` (width)."""
    ground: np.ndarray
    prims: list = field(default_factory=list)
    objects: list = field(default_factory=list)
    road: dict = field(default_factory=lambda: dict(angle=0., offset=0., lanes=2, lane=3.5,
                                                    kerb=3.5, sidewalk=3.))
    sun: np.ndarray = field(default_factory=lambda: np.array([0.3, 0.4, 0.87]))

    def ground_height(self, x, y):
        g0, gx, gy = self.ground
        return g0 + gx * np.asarray(x) + gy * np.asarray(y)

    def to_road(self, x, y):
        """World (x, y) -> road coordinates (u along the road, v to its left from the centre)."""
        a, off = self.road['angle'], self.road['offset']
        return x * np.cos(a) + y * np.sin(a), -x * np.sin(a) + y * np.cos(a) - off

    def from_road(self, u, v):
        a, v = self.road['angle'], v + self.road['offset']
        return np.array([u * np.cos(a) - v * np.sin(a), u * np.sin(a) + v * np.cos(a)])

    def add(self, cls, xy, yaw, dims, parts, colours):
        """Add an object standing on the ground at ``xy``; ``parts`` are (kind, local centre,
        local rotation, size, material) with the local origin at the box's bottom centre. The
        base is the lowest ground point under the footprint, so nothing floats on a slope."""
        corners = np.array([[sx * dims[0] / 2, sy * dims[1] / 2]
                            for sx in (-1, 1) for sy in (-1, 1)]) @ rot_z(yaw)[:2, :2].T + xy
        bottom = np.array([*xy, self.ground_height(corners[:, 0], corners[:, 1]).min()])
        obj = SceneObject(len(self.objects) + 1, cls, bottom, np.asarray(dims, float), yaw,
                          np.asarray(colours, float))
        if obj.id > 255:
            raise ValueError('a scene holds at most 255 objects (ids are stored as uint8)')
        R = rot_z(yaw)
        for kind, c, r, size, material in parts:
            self.prims.append(Primitive(kind, bottom + R @ np.asarray(c, float), R @ r,
                                        np.asarray(size, float), obj.id, material))
        self.objects.append(obj)
        return obj


# ----------------------------------------------------------------------------- ray casting
@dataclass
class Hits:
    """Nearest hits of a grid of rays. ``prim``: -1 miss, 0 ground, i + 1 for ``scene.prims[i]``;
    ``obj``: 0 for ground and misses; ``t``: distance along the unit ray (inf on a miss);
    ``unoccluded``: {object id: rays that would hit it if nothing else were there}.

    Shape:
        t, prim, obj: (H, W) for rays of shape (H, W, 3).
    """
    t: np.ndarray
    prim: np.ndarray
    obj: np.ndarray
    unoccluded: dict


def _slab(o, d, half, margin=0.):
    """Entry and exit distances of rays through a box of half extents ``half + margin`` centred
    at the origin (entry > exit: a miss).

    Shape:
        o: (3,); d: (3, M); half: (3,); margin: scalar or (M,) -> near, far: (M,)
    """
    with np.errstate(divide='ignore', invalid='ignore'):
        inv = 1. / d
        t1, t2 = ((-half[:, None] - margin - o[:, None]) * inv,
                  (half[:, None] + margin - o[:, None]) * inv)
    lo, hi = np.minimum(t1, t2), np.maximum(t1, t2)
    return np.maximum(np.maximum(lo[0], lo[1]), lo[2]), np.minimum(np.minimum(hi[0], hi[1]), hi[2])


def _intersect(p, origin, d):
    """Distance along each unit ray to primitive ``p`` (inf where it misses). Rays are stored
    component-major, so every operation below runs on contiguous rows.

    Shape:
        origin: (3,); d: (3, M) -> (M,)
    """
    o, ld = p.rot.T @ (origin - p.centre), p.rot.T @ d  # the ray in the primitive's frame
    with np.errstate(divide='ignore', invalid='ignore'):
        if p.kind == 'box':
            near, far = _slab(o, ld, p.size)
            return np.where((near <= far) & (near > _EPS), near, np.inf)
        if p.kind == 'sphere':
            b = o @ ld
            disc = b * b - (o @ o - p.size[0] ** 2)
            t = -b - np.sqrt(disc)
            return np.where((disc >= 0) & (t > _EPS), t, np.inf)
        r, hh = p.size  # cylinder: lateral surface, then the cap facing the origin
        a = ld[0] * ld[0] + ld[1] * ld[1]
        b = o[0] * ld[0] + o[1] * ld[1]
        disc = b * b - a * (o[0] ** 2 + o[1] ** 2 - r * r)
        t = (-b - np.sqrt(disc)) / a
        t = np.where((disc >= 0) & (t > _EPS) & (np.abs(o[2] + t * ld[2]) <= hh), t, np.inf)
        if abs(o[2]) > hh:
            tc = (np.copysign(hh, o[2]) - o[2]) / ld[2]
            qx, qy = o[0] + tc * ld[0], o[1] + tc * ld[1]
            t = np.minimum(t, np.where((tc > _EPS) & (qx * qx + qy * qy <= r * r), tc, np.inf))
        return t


def _tile_ranges(ptr, sel):
    """Concatenated ``arange(ptr[i], ptr[i + 1])`` for the tiles ``sel``."""
    starts, lens = ptr[sel], ptr[sel + 1] - ptr[sel]
    return np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(lens.sum())


def cast_rays(scene, origin, dirs, max_range=np.inf, tile=(16, 16), count=()):
    """Nearest hit of every ray from ``origin`` against the ground and all primitives.

    Culling: rays are grouped in tiles of the (H, W) grid, each with a bounding cone (axis,
    half angle b). A ray of the tile hitting a primitive at distance s passes within s*b of the
    axis, so only tiles whose axis hits the primitive's bounding box grown by s_max*b are
    intersected; primitives go front to back, and rays already stopped nearer than a primitive's
    bounding sphere skip it. ``count``: object ids whose unoccluded ray count is wanted.

    Shape:
        origin: (3,); dirs: (H, W, 3) unit vectors -> Hits with (H, W) arrays.
    """
    H, W = dirs.shape[:2]
    n_tx = -(-W // tile[1])
    tid = ((np.arange(H) // tile[0])[:, None] * n_tx + np.arange(W) // tile[1]).ravel()
    order = np.argsort(tid, kind='stable')
    d = np.ascontiguousarray(dirs.reshape(-1, 3)[order].T)
    ptr = np.searchsorted(tid[order], np.arange(tid.max() + 2))
    axis = np.add.reduceat(d, ptr[:-1], axis=1)
    axis /= np.sqrt((axis * axis).sum(0))
    cos_half = np.minimum.reduceat((d * np.repeat(axis, np.diff(ptr), 1)).sum(0), ptr[:-1])
    half = np.arccos(np.clip(cos_half, -1, 1)) + 1e-9

    g0, gx, gy = scene.ground
    with np.errstate(divide='ignore', invalid='ignore'):
        t = (g0 + gx * origin[0] + gy * origin[1] - origin[2]) / (d[2] - gx * d[0] - gy * d[1])
    t = np.where((t > _EPS) & (t <= max_range), t, np.inf)
    prim = np.where(np.isfinite(t), 0, -1)
    seen = {k: [] for k in count}
    dist = [np.linalg.norm(p.centre - origin) - np.linalg.norm(p.extent) for p in scene.prims]
    for i in np.argsort(dist, kind='stable'):
        p = scene.prims[i]
        if dist[i] > max_range:
            continue
        o = p.rot.T @ (origin - p.centre)
        near, far = _slab(o, p.rot.T @ axis, p.extent,
                          min(dist[i] + 2 * np.linalg.norm(p.extent), max_range) * half)
        idx = _tile_ranges(ptr, np.flatnonzero((near <= far) & (far > 0)))
        if p.obj not in seen:
            idx = idx[t[idx] > dist[i]]
        if not idx.size:
            continue
        ti = _intersect(p, origin, d[:, idx])
        ti[ti > max_range] = np.inf
        if p.obj in seen:
            seen[p.obj].append(idx[np.isfinite(ti)])
        better = ti < t[idx]
        t[idx[better]], prim[idx[better]] = ti[better], i + 1
    prim_obj = np.array([0, 0] + [p.obj for p in scene.prims])
    out = np.empty_like(t), np.empty_like(prim)
    out[0][order], out[1][order] = t, prim
    return Hits(out[0].reshape(H, W), out[1].reshape(H, W), prim_obj[out[1] + 1].reshape(H, W),
                {k: len(np.unique(np.concatenate(v))) if v else 0 for k, v in seen.items()})


# ----------------------------------------------------------------------------- materials
def _noise(x, y):
    """Smooth value noise in [0, 1) on a unit lattice, hashed from a fixed table.

    Shape:
        x, y: (...) -> (...)
    """
    ix, iy = np.floor(x), np.floor(y)
    fx, fy = x - ix, y - iy
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    i, j = ix.astype(np.int64), iy.astype(np.int64)

    def h(i, j):
        return _HASH[(i * 1619 + j * 31337) & 4095]

    top = h(i, j) * (1 - fx) + h(i + 1, j) * fx
    bottom = h(i, j + 1) * (1 - fx) + h(i + 1, j + 1) * fx
    return top * (1 - fy) + bottom * fy


def _ground_surface(scene, x, y):
    """Albedo and reflectivity of the ground: asphalt with lane markings (dashed between lanes,
    solid near the edges), kerb, tiled sidewalk, patchy grass beyond.

    Shape:
        x, y: (M,) -> albedo (M, 3), reflectivity (M,)
    """
    r = scene.road
    u, v = scene.to_road(x, y)
    av, hw = np.abs(v), r['lanes'] * r['lane'] / 2
    fine, coarse = _noise(x * 3, y * 3), _noise(x * 0.2, y * 0.2)
    grey = 0.27 + 0.06 * fine + 0.05 * coarse
    lane_pos = (v + hw) / r['lane']
    marking = ((np.abs(lane_pos - np.round(lane_pos)) * r['lane'] < 0.07) & (av < hw - 1)
               & (u % 9 < 4.5)) | (np.abs(av - hw + 0.25) < 0.08)
    tiles = ((u % 1.2) < 0.04) | (((av - r['kerb']) % 1.2) < 0.04)
    concrete = (0.58 + 0.08 * fine) * np.where(tiles, 0.75, 1.)
    grass = np.stack([0.22 + 0.15 * coarse, 0.36 + 0.14 * fine, 0.12 + 0.05 * coarse], -1)
    zone = np.select([av < hw, av < r['kerb'], av < r['kerb'] + 0.2,
                      av < r['kerb'] + r['sidewalk']], [0, 1, 2, 3], 4)
    albedo = np.where((zone == 4)[:, None], grass, np.stack([grey, grey, grey * 1.04], -1))
    albedo[zone == 2] = 0.68
    albedo[zone == 3] = concrete[zone == 3, None] * (1., 0.97, 0.92)
    refl = np.choose(zone, [0.1, 0.1, 0.35, 0.3, 0.45])
    paint = marking & (zone == 0)
    albedo[paint], refl = 0.85, np.where(paint, 0.75, refl)
    return albedo, refl


def _prim_surface(p, obj, q, n):
    """Albedo and reflectivity of primitive ``p`` at local hit points ``q`` with local normals
    ``n``: paint with a dark sill, glazed cabins, tyres with rims, two-tone clothes, brick-like
    concrete, buildings with window grids, noisy bark and leaves.

    Shape:
        q, n: (M, 3) -> albedo (M, 3), reflectivity (M,)
    """
    refl0, fixed = MATERIALS[p.material]
    albedo = np.tile(np.asarray(fixed if fixed else obj.colours[0], float), (len(q), 1))
    refl = np.full(len(q), refl0)
    side = np.abs(n[:, 2]) < 0.5
    along = np.where(np.abs(n[:, 1]) > 0.5, q[:, 0], q[:, 1])  # horizontal coordinate on a face
    m = p.material
    if m == 'paint':
        albedo *= 0.93 + 0.07 * _noise(q[:, 0] * 4, q[:, 2] * 4)[:, None]
        albedo[q[:, 2] < -p.size[2] + 0.08] = 0.12
    elif m == 'cabin':  # windows framed by pillars; the roof is painted
        across = np.where(np.abs(n[:, 0]) > 0.5, q[:, 1] / p.size[1], q[:, 0] / p.size[0])
        glass = side & (np.abs(across) < 0.9) & (np.abs(across) > 0.04) & (
            q[:, 2] < p.size[2] - 0.06)
        albedo[glass], refl[glass] = (0.1, 0.13, 0.17), 0.05
    elif m == 'tyre':
        rim = (np.abs(n[:, 2]) > 0.5) & ((q[:, :2] ** 2).sum(1) < (0.6 * p.size[0]) ** 2)
        albedo[rim], refl[rim] = 0.6, 0.5
    elif m == 'cloth':
        low = q[:, 2] < -0.1 * p.size[1]
        albedo[low] = obj.colours[1]
        albedo *= 0.9 + 0.1 * _noise(q[:, 2] * 20, along * 20)[:, None]
    elif m == 'metal':
        albedo *= 0.85 + 0.15 * _noise(q[:, 2] * 2, 0.)[:, None]
    elif m in ('bark', 'leaves'):
        albedo *= (0.75 + 0.5 * _noise(q[:, 0] * 4 + q[:, 2] * 1.7,
                                       q[:, 1] * 4 - q[:, 2] * 2.3))[:, None]
    elif m == 'concrete':
        brick = (np.floor(along / 0.8) + np.floor(q[:, 2] / 0.4)) % 2
        albedo *= (0.94 + 0.06 * brick + 0.06 * _noise(along * 5, q[:, 2] * 5))[:, None]
    elif m == 'facade':
        z = q[:, 2] + p.size[2]
        window = side & (along % 2.6 < 1.3) & (z % 3 > 0.9) & (z % 3 < 2.2) & (z > 2.5)
        albedo *= 0.9 + 0.1 * _noise(along * 2, z * 2)[:, None]
        albedo[window], refl[window] = (0.14, 0.18, 0.25), 0.08
        albedo[n[:, 2] > 0.5] = obj.colours[1]
    return albedo, refl


def _local_normals(p, q):
    """Outward local normals at local points ``q`` on the surface of ``p``.

    Shape:
        q: (M, 3) -> (M, 3)
    """
    if p.kind == 'sphere':
        return q / p.size[0]
    if p.kind == 'box':
        k = np.argmax(np.abs(q) / p.size, 1)
        n = np.zeros_like(q)
        n[np.arange(len(q)), k] = np.sign(q[np.arange(len(q)), k])
        return n
    r, hh = p.size
    rho = np.hypot(q[:, 0], q[:, 1])
    cap = np.abs(q[:, 2]) / hh > rho / r
    return np.where(cap[:, None], np.stack([0 * rho, 0 * rho, np.sign(q[:, 2])], -1),
                    np.stack([q[:, 0], q[:, 1], 0 * rho], -1) / np.maximum(rho, _EPS)[:, None])


def surface(scene, prim, points):
    """World normals, albedo (RGB in [0, 1]) and reflectivity at hit points.

    Shape:
        prim: (M,) hit primitive codes as in ``Hits`` (no misses); points: (M, 3)
        -> normals (M, 3), albedo (M, 3), reflectivity (M,)
    """
    order = np.argsort(prim, kind='stable')  # each primitive's points become one slice
    bounds = np.searchsorted(prim[order], np.arange(len(scene.prims) + 2))
    pts = points[order]
    normal, albedo, refl = np.empty((len(prim), 3)), np.empty((len(prim), 3)), np.empty(len(prim))
    g = slice(bounds[0], bounds[1])
    slope = np.array([-scene.ground[1], -scene.ground[2], 1.])
    normal[g] = slope / np.linalg.norm(slope)
    albedo[g], refl[g] = _ground_surface(scene, pts[g, 0], pts[g, 1])
    for i, p in enumerate(scene.prims):
        g = slice(bounds[i + 1], bounds[i + 2])
        if g.start < g.stop:
            q = (pts[g] - p.centre) @ p.rot
            n = _local_normals(p, q)
            normal[g] = n @ p.rot.T
            albedo[g], refl[g] = _prim_surface(p, scene.objects[p.obj - 1], q, n)
    out = np.empty_like(normal), np.empty_like(albedo), np.empty_like(refl)
    out[0][order], out[1][order], out[2][order] = normal, albedo, refl
    return out


# ----------------------------------------------------------------------------- scene layout
# makers return (class, label dims (l, w, h), parts, colours); dims hold the parts with ~5 cm
# to spare, so range noise does not push an object's points out of its label box
def _car(rng):
    van = rng.random() < 0.15
    l, w, h = (rng.uniform(4.5, 5.4), rng.uniform(1.9, 2.1), rng.uniform(1.9, 2.3)) if van else \
        (rng.uniform(3.6, 4.7), rng.uniform(1.6, 1.85), rng.uniform(1.4, 1.6))
    rw, top = rng.uniform(0.3, 0.35), 0.28 + (0.55 if van else 0.5) * (h - 0.28)
    cabin = (0.78 if van else 0.5) * l
    parts = [('box', (0, 0, (0.28 + top) / 2), np.eye(3), (l / 2, w / 2, (top - 0.28) / 2),
              'paint'),
             ('box', ((0.08 if van else -0.06) * l, 0, (top + h) / 2), np.eye(3),
              (cabin / 2, 0.44 * w, (h - top) / 2), 'cabin')]
    parts += [('cylinder', (sx * (l / 2 - 0.8), sy * (w / 2 - 0.11), rw), ROT_Z_TO_Y, (rw, 0.11),
               'tyre') for sx in (-1, 1) for sy in (-1, 1)]
    colour = _CAR_PAINTS[rng.integers(len(_CAR_PAINTS))] + rng.normal(0, 0.03, 3)
    return 'Van' if van else 'Car', (l + 0.1, w + 0.1, h + 0.05), parts, (colour, colour)


_CAR_PAINTS = np.array([[0.9, 0.9, 0.9], [0.08, 0.08, 0.09], [0.6, 0.62, 0.65], [0.65, 0.08, 0.07],
                        [0.1, 0.2, 0.5], [0.1, 0.3, 0.18], [0.35, 0.36, 0.38], [0.8, 0.7, 0.2]])
_FACADES = np.array([[0.82, 0.76, 0.62], [0.62, 0.32, 0.24], [0.7, 0.7, 0.68], [0.85, 0.82, 0.75],
                     [0.5, 0.55, 0.6]])


def _pedestrian(rng):
    h, r = rng.uniform(1.5, 1.9), rng.uniform(0.16, 0.21)
    parts = [('cylinder', (0, 0, (h - 0.25) / 2), np.eye(3), (r, (h - 0.25) / 2), 'cloth'),
             ('sphere', (0, 0, h - 0.12), np.eye(3), (0.11,), 'skin')]
    trousers = rng.uniform(0.05, 0.3) * np.array([1, 1, 1.4])
    return 'Pedestrian', (rng.uniform(0.6, 0.9), rng.uniform(2 * r + 0.15, 0.75), h + 0.05), \
        parts, (rng.uniform(0.05, 0.9, 3), trousers)


def _cyclist(rng):
    parts = [('cylinder', (sx * 0.52, 0, 0.33), ROT_Z_TO_Y, (0.33, 0.025), 'tyre')
             for sx in (-1, 1)]
    parts += [('box', (0, 0, 0.62), np.eye(3), (0.45, 0.04, 0.17), 'paint'),
              ('cylinder', (-0.1, 0, 1.12), np.eye(3), (0.18, 0.33), 'cloth'),
              ('sphere', (-0.05, 0, 1.57), np.eye(3), (0.11,), 'skin')]
    return 'Cyclist', (1.8, 0.6, 1.75), parts, (rng.uniform(0, 1, 3), rng.uniform(0.05, 0.3, 3))


def _pole(rng):
    h, r = rng.uniform(4, 8), rng.uniform(0.07, 0.14)
    return 'Pole', (2 * r, 2 * r, h), [('cylinder', (0, 0, h / 2), np.eye(3), (r, h / 2),
                                        'metal')], np.full((2, 3), rng.uniform(0.35, 0.65))


def _tree(rng):
    trunk, crown = rng.uniform(2.2, 3.5), rng.uniform(1.2, 2.4)
    half = (trunk + crown) / 2  # the trunk reaches into the crown
    leaves = [0.18, 0.4, 0.12] + rng.normal(0, 0.04, 3)
    return 'Tree', (2 * crown, 2 * crown, trunk + 1.6 * crown), \
        [('cylinder', (0, 0, half), np.eye(3), (0.18, half), 'bark'),
         ('sphere', (0, 0, trunk + 0.6 * crown), np.eye(3), (crown,), 'leaves')], (leaves, leaves)


def _block(rng, length):
    """A building (box with windows, flat roof) or, one time in four, a garden wall."""
    if rng.random() < 0.25:
        dims, material = (length, 0.3, rng.uniform(1., 2.3)), 'concrete'
        colours = np.full((2, 3), rng.uniform(0.45, 0.7)) * (1, 0.97, 0.93)
    else:
        dims, material = (length, rng.uniform(8, 15), rng.uniform(4, 14)), 'facade'
        colours = (_FACADES[rng.integers(len(_FACADES))] + rng.normal(0, 0.03, 3),
                   (0.3, 0.3, 0.32))
    return 'Wall' if material == 'concrete' else 'Building', dims, \
        [('box', (0, 0, dims[2] / 2), np.eye(3), np.array(dims) / 2, material)], colours


def _overlaps(fp, placed, margin=0.3):
    """Whether footprint ``fp`` = (x, y, half length, half width, yaw) overlaps any of
    ``placed`` (separating-axis test on oriented rectangles, ``fp`` grown by ``margin``).

    Shape:
        fp: (5,); placed: (K, 5)
    """
    b = np.asarray(placed)
    d = b[:, :2] - fp[:2]
    separated = np.zeros(len(b), bool)
    for theta in (np.full(len(b), fp[4]), np.full(len(b), fp[4] + np.pi / 2), b[:, 4],
                  b[:, 4] + np.pi / 2):
        ra = (fp[2] + margin) * np.abs(np.cos(fp[4] - theta)) + \
            (fp[3] + margin) * np.abs(np.sin(fp[4] - theta))
        rb = b[:, 2] * np.abs(np.cos(b[:, 4] - theta)) + b[:, 3] * np.abs(np.sin(b[:, 4] - theta))
        separated |= np.abs(d[:, 0] * np.cos(theta) + d[:, 1] * np.sin(theta)) > ra + rb
    return not separated.all()


def make_scene(rng, lidar_height=1.73):
    """A random street: 2 or 4 lanes, maybe parking strips, sidewalks, buildings and walls,
    moving and parked cars and vans, pedestrians, cyclists, poles and trees. Objects are placed
    by rejection so no two footprints overlap and none covers the ego car around the LiDAR."""
    road = dict(angle=rng.uniform(-0.12, 0.12), lanes=int(rng.choice([2, 4])),
                lane=rng.uniform(3.2, 3.7), sidewalk=rng.uniform(2.5, 4.5))
    hw = road['lanes'] * road['lane'] / 2
    parking = rng.random() < 0.6
    road['kerb'] = hw + 2.3 * parking
    road['offset'] = hw - road['lane'] / 2 + rng.normal(0, 0.25)  # ego drives in the right lane
    az, el = rng.uniform(-np.pi, np.pi), rng.uniform(0.4, 1.1)
    scene = Scene(np.array([-lidar_height, *rng.uniform(-0.03, 0.03, 2)]), road=road,
                  sun=np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)]))
    placed = [np.array([0.5, 0., 3., 1.4, 0.])]  # the ego car

    def place(make, u_range, v_range, yaw, tries=25):
        for _ in range(tries):
            cls, dims, parts, colours = make(rng)
            xy = scene.from_road(rng.uniform(*u_range), rng.uniform(*sorted(v_range)))
            fp = np.array([*xy, dims[0] / 2, dims[1] / 2, road['angle'] + yaw])
            if not _overlaps(fp, placed):
                placed.append(fp)
                scene.add(cls, xy, fp[4], dims, parts, np.clip(colours, 0, 1))
                return

    def side():
        return rng.choice([-1, 1])

    front = road['kerb'] + road['sidewalk']
    for s in (-1, 1):  # first the blocks that line the street, then what fits between
        u, setback = rng.uniform(-60, -40), front + rng.uniform(0.5, 6)
        while u < 100:
            length = rng.uniform(8, 26)
            block = _block(rng, length)
            v = s * (setback + block[1][1] / 2)
            place(lambda _: block, (u + length / 2,) * 2, (v, v), 0., tries=1)
            u += length + rng.uniform(1, 9)
    for _ in range(rng.integers(2, 7)):  # traffic: right-hand lanes drive forward
        v = -hw + road['lane'] * (rng.integers(road['lanes']) + 0.5)
        place(_car, (-30, 95), (v - 0.3, v + 0.3), (v > 0) * np.pi + rng.normal(0, 0.04))
    for _ in range(rng.integers(3, 10) if parking else 0):
        place(_car, (-25, 95), (side() * (hw + 1.1),) * 2,
              rng.choice([0, np.pi]) + rng.normal(0, 0.05))
    for _ in range(rng.integers(1, 9)):
        s = side()
        v = (-hw, hw) if rng.random() < 0.2 else (s * (road['kerb'] + 0.4), s * (front - 0.4))
        place(_pedestrian, (-15, 75), v, rng.uniform(-np.pi, np.pi))
    for _ in range(rng.integers(0, 4)):
        s = side()
        place(_cyclist, (-15, 50), (s * (hw - 0.7),) * 2, (s > 0) * np.pi + rng.normal(0, 0.08))
    for _ in range(rng.integers(4, 11)):
        place(_pole, (-30, 80), (side() * (road['kerb'] + 0.35),) * 2, 0.)
    for _ in range(rng.integers(2, 11)):
        s = side()
        place(_tree, (-30, 80), (s * (front - 0.8), s * (front + 4)), 0.)
    return scene


# ----------------------------------------------------------------------------- LiDAR
def hdl64_elevations():
    """Beam elevations in degrees, top first, of a Velodyne HDL-64E: an upper block of 32 beams
    from +2 to -8.33 degrees (1/3 degree apart) and a lower block from -8.83 to -24.9."""
    return np.concatenate([np.linspace(2., -8.33, 32), np.linspace(-8.83, -24.9, 32)])


@dataclass(frozen=True)
class LidarConfig:
    """Spinning LiDAR at the world origin. Returns are lost at random (``dropout``), more often
    at grazing incidence and from dark surfaces far away; ranges get Gaussian noise clipped at
    2.5 sigma (less than the 5 cm the label boxes leave around their objects)."""
    azimuth_steps: int = 2048
    max_range: float = 80.
    min_range: float = 1.
    range_noise: float = 0.015  # metres, 1 sigma (the HDL-64E is specified to < 2 cm)
    dropout: float = 0.04

    def rays(self):
        """Unit ray directions, beam-major (top beam first), azimuth from +x counter-clockwise.

        Shape:
            -> (64, azimuth_steps, 3)
        """
        el = np.radians(hdl64_elevations())[:, None]
        az = 2 * np.pi * np.arange(self.azimuth_steps) / self.azimuth_steps
        return np.stack(np.broadcast_arrays(np.cos(el) * np.cos(az), np.cos(el) * np.sin(az),
                                            np.sin(el)), -1)


def lidar_scan(scene, rng, cfg=LidarConfig()):
    """One revolution: KITTI-style points with intensity from reflectivity and incidence angle,
    and the object id each point hit (0 = ground).

    Shape:
        -> points (N, 4) float32 (x, y, z, intensity in [0, 1]), obj (N,) uint8
    """
    dirs = cfg.rays()
    hits = cast_rays(scene, np.zeros(3), dirs, cfg.max_range, tile=(8, 32))
    keep = np.isfinite(hits.t) & (hits.t >= cfg.min_range)
    t, d = hits.t[keep], dirs[keep]
    normal, _, refl = surface(scene, hits.prim[keep], t[:, None] * d)
    cos_inc, far = np.abs((normal * d).sum(1)), t / cfg.max_range
    p_drop = cfg.dropout + 0.3 * (1 - cos_inc) ** 4 + 0.3 * far ** 2 * (1 - refl)
    returned = rng.random(len(t)) >= p_drop
    t = t + np.clip(rng.normal(0, cfg.range_noise, len(t)), -2.5 * cfg.range_noise,
                    2.5 * cfg.range_noise)
    intensity = np.clip(refl * (0.6 + 0.6 * cos_inc) * (1 - 0.3 * far)
                        + rng.normal(0, 0.01, len(t)), 0, 1)
    points = np.column_stack([t[:, None] * d, intensity])[returned].astype(np.float32)
    return points, hits.obj[keep][returned].astype(np.uint8)


# ----------------------------------------------------------------------------- calibration
def kitti_calibration(rng=None, width=KITTI_SIZE[0], height=KITTI_SIZE[1]):
    """KITTI-like calibration matrices keyed as in KITTI's calib files (P0..P3 3x4, R0_rect 3x3,
    Tr_velo_to_cam and Tr_imu_to_velo 3x4). Focal length and cx scale with ``width``, cy with
    ``height``, from KITTI's 1242 x 375. With ``rng``, the rotations (~0.1 degree) and the
    LiDAR-camera translation (~5 mm) are jittered, as KITTI's differ between drives."""
    f, cx, cy = KITTI_INTRINSICS
    s = width / KITTI_SIZE[0]
    K = np.array([[f * s, 0., cx * s], [0., f * s, cy * height / KITTI_SIZE[1]], [0., 0., 1.]])
    jitter = (lambda scale: rng.normal(0, scale, 3)) if rng is not None else (lambda _: 0.)
    calib = {f'P{i}': K @ np.column_stack([np.eye(3), t]) for i, t in enumerate(KITTI_OFFSETS)}
    calib['R0_rect'] = Rotation.from_rotvec(np.add(_R0_ROTVEC, jitter(0.002))).as_matrix()
    R = Rotation.from_rotvec(np.add(_TR_ROTVEC, jitter(0.002))).as_matrix() @ _VELO_TO_CAM_AXES
    calib['Tr_velo_to_cam'] = np.column_stack([R, np.add(_TR_T, jitter(0.005))])
    calib['Tr_imu_to_velo'] = _TR_IMU_TO_VELO.copy()
    return calib


def format_calib(calib):
    """KITTI calib file text: one ``key: numbers`` line per key, numbers as ``%e``."""
    return ''.join(f'{k}: ' + ' '.join(f'{x:e}' for x in calib[k].ravel()) + '\n'
                   for k in CALIB_KEYS)


def parse_calib(text):
    """Inverse of ``format_calib``: {key: (3, 4) or, for R0_rect, (3, 3) array}."""
    calib = {}
    for line in text.splitlines():
        if ':' in line:
            key, values = line.split(':', 1)
            values = np.array(values.split(), float)
            calib[key.strip()] = values.reshape(3, -1)
    return calib


def velo_to_rect(calib):
    """4x4 ``R0_rect · Tr_velo_to_cam``: LiDAR frame -> KITTI rectified camera frame."""
    R0, Tr = np.eye(4), np.eye(4)
    R0[:3, :3], Tr[:3] = calib['R0_rect'], calib['Tr_velo_to_cam']
    return R0 @ Tr


def camera_rays(calib, width, height):
    """Rays of image 2 in the LiDAR frame: one origin (the camera centre of
    ``M = P2 · R0_rect · Tr_velo_to_cam``), unit directions through the pixel centres, and the
    depth (third coordinate of ``M · [x 1]``) per metre along each ray.

    Shape:
        -> origin (3,), dirs (height, width, 3), depth_per_metre (height, width)
    """
    M = calib['P2'] @ velo_to_rect(calib)
    A_inv = np.linalg.inv(M[:, :3])
    u, v = np.meshgrid(np.arange(width, dtype=float), np.arange(height, dtype=float))
    d = np.stack([u, v, np.ones_like(u)], -1) @ A_inv.T  # depth 1 at the tip of each d
    norm = np.linalg.norm(d, axis=-1, keepdims=True)
    return -A_inv @ M[:, 3], d / norm, 1 / norm[..., 0]


# ----------------------------------------------------------------------------- camera
def render_camera(scene, calib, width, height, rng=None, count=()):
    """Ray-traced image 2: material colour and texture, Lambert shading from the sun plus sky
    light, distance haze and a sky gradient; with ``rng``, slight sensor noise.

    Shape:
        -> image (height, width, 3) uint8, ids (height, width) uint8 (0 ground / sky),
        depth (height, width) float (inf for sky), and the Hits' ``unoccluded`` dict
    """
    origin, dirs, depth_per_metre = camera_rays(calib, width, height)
    hits = cast_rays(scene, origin, dirs, max_range=600., tile=(16, 16), count=count)
    hit = np.isfinite(hits.t)
    t, d = hits.t[hit], dirs[hit]
    normal, albedo, _ = surface(scene, hits.prim[hit], origin + t[:, None] * d)
    normal *= -np.sign((normal * d).sum(1, keepdims=True))  # the side facing the camera
    light = (0.3 + 0.12 * normal[:, 2] + 0.65 * np.maximum(normal @ scene.sun, 0))[:, None]
    horizon, zenith = np.array([0.78, 0.84, 0.9]), np.array([0.3, 0.5, 0.82])
    elevation = np.clip(dirs[..., 2:], 0, 1) ** 0.6
    image = horizon * (1 - elevation) + zenith * elevation
    haze = 1 - np.exp(-(t / 250.) ** 2)[:, None]
    image[hit] = albedo * light * (1 - haze) + horizon * haze
    if rng is not None:
        image += rng.normal(0, 0.008, image.shape)
    image = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    depth = np.where(hit, hits.t * depth_per_metre, np.inf)
    return image, hits.obj.astype(np.uint8), depth, hits.unoccluded


# ----------------------------------------------------------------------------- labels
def box_corners(obj):
    """Corners of an object's box in the world frame, bottom face first.

    Shape:
        -> (8, 3)
    """
    l, w, h = obj.dims
    local = np.array([[sx * l / 2, sy * w / 2, z] for z in (0, h)
                      for sx, sy in ((1, 1), (1, -1), (-1, -1), (-1, 1))])
    return local @ rot_z(obj.yaw).T + obj.bottom


_BOX_EDGES = [(i, (i + 1) % 4) for i in range(4)] + [(i + 4, (i + 1) % 4 + 4) for i in range(4)] \
    + [(i, i + 4) for i in range(4)]


def _box_2d(corners_rect, P2, width, height, near=0.1):
    """Image box of a 3D box clipped to the near plane, then to the image, and the fraction of
    it cut off by the image border (KITTI's 'truncated')."""
    z = corners_rect[:, 2]
    pts = [corners_rect[z >= near]]
    for i, j in _BOX_EDGES:  # where an edge crosses the near plane
        if (z[i] - near) * (z[j] - near) < 0:
            a = (near - z[i]) / (z[j] - z[i])
            pts.append(corners_rect[i] + a * (corners_rect[j] - corners_rect[i]))
    pts = np.vstack(pts)
    p = np.column_stack([pts, np.ones(len(pts))]) @ P2.T
    uv = p[:, :2] / p[:, 2:]
    full = np.concatenate([uv.min(0), uv.max(0)])
    box = np.clip(full, 0, [width - 1, height - 1] * 2)
    return box, 1 - np.prod(box[2:] - box[:2]) / max(np.prod(full[2:] - full[:2]), 1e-9)


def _wrap(angle):
    return np.arctan2(np.sin(angle), np.cos(angle))


def kitti_labels(scene, calib, ids, unoccluded, max_distance=70., min_height=12.):
    """KITTI label lines for objects of ``LABELLED_CLASSES`` seen in image 2 (``ids`` > 0 for
    them), nearest first; those farther than ``max_distance`` metres or lower than
    ``min_height`` pixels (at KITTI's height; scaled) become ``DontCare`` lines at the end.
    Occlusion level from the visible fraction of the pixels the object would cover alone
    (``unoccluded``): 0 (>= 80 %), 1 (>= 40 %), 2 (less).

    Returns:
        lines (list of str) and {object id: index of its line}.
    """
    height, width = ids.shape
    V = velo_to_rect(calib)
    visible = np.bincount(ids.ravel(), minlength=256)
    rows = []
    for obj in scene.objects:
        if obj.cls not in LABELLED_CLASSES or not visible[obj.id]:
            continue
        corners = np.column_stack([box_corners(obj), np.ones(8)]) @ V.T
        box, truncated = _box_2d(corners[:, :3], calib['P2'], width, height)
        x, y, z = (V @ [*obj.bottom, 1.])[:3]
        if np.hypot(x, z) > max_distance or box[3] - box[1] < min_height * height / KITTI_SIZE[1]:
            rows.append((np.inf, obj.id, 'DontCare -1 -1 -10 {:.2f} {:.2f} {:.2f} {:.2f} -1 -1 -1 '
                         '-1000 -1000 -1000 -10'.format(*box)))
            continue
        seen = visible[obj.id] / max(unoccluded.get(obj.id, 0), visible[obj.id])
        occluded = 0 if seen >= 0.8 else 1 if seen >= 0.4 else 2
        ry = _wrap(-obj.yaw - np.pi / 2)  # KITTI's heading about camera y (OpenPCDet's rule)
        alpha = _wrap(ry - np.arctan2(x, z))
        l, w, h = obj.dims
        rows.append((z, obj.id, f'{obj.cls} {truncated:.2f} {occluded} {alpha:.2f} {box[0]:.2f} '
                     f'{box[1]:.2f} {box[2]:.2f} {box[3]:.2f} {h:.2f} {w:.2f} {l:.2f} {x:.2f} '
                     f'{y:.2f} {z:.2f} {ry:.2f}'))
    rows.sort(key=lambda r: r[0])
    return [r[2] for r in rows], {r[1]: i for i, r in enumerate(rows)}


# ----------------------------------------------------------------------------- frames
@dataclass
class Frame:
    """Everything one synthetic KITTI frame holds (see ``make_frame``)."""
    scene: Scene
    calib: dict
    points: np.ndarray
    point_ids: np.ndarray
    image: np.ndarray
    ids: np.ndarray
    depth: np.ndarray
    labels: list
    label_of: dict


def make_frame(rng, width=KITTI_SIZE[0], height=KITTI_SIZE[1], lidar=LidarConfig(),
               calib_jitter=True):
    """A scene seen by both sensors. The calibration is rendered from its own ``%e`` text, so
    the written file reproduces the rendered geometry exactly.

    Shape:
        points (N, 4) float32, point_ids (N,) uint8, image (H, W, 3) uint8, ids (H, W) uint8,
        depth (H, W) float
    """
    scene = make_scene(rng)
    calib = parse_calib(format_calib(kitti_calibration(rng if calib_jitter else None, width,
                                                       height)))
    points, point_ids = lidar_scan(scene, rng, lidar)
    labelled = [o.id for o in scene.objects if o.cls in LABELLED_CLASSES]
    image, ids, depth, unoccluded = render_camera(scene, calib, width, height, rng, labelled)
    labels, label_of = kitti_labels(scene, calib, ids, unoccluded)
    return Frame(scene, calib, points, point_ids, image, ids, depth, labels, label_of)


def lidar_sweep(seed: int = 0, n_az: int = 270, fov: float = 90.0) -> torch.Tensor:
    """(N, 4) x, y, z, intensity: 64 beams (HDL-64E elevations) over the camera's field of view,
    ray-cast on the ground 1.73 m below the sensor, 8 car-sized boxes and two walls. A cheap,
    KITTI-like cloud (about 16k points at ``n_az=270``) for sparse-conv tests and benchmarks;
    :func:`lidar_scan` renders full scenes."""
    g = torch.Generator().manual_seed(seed)
    e, a = torch.meshgrid(torch.deg2rad(torch.linspace(-24.8, 2.0, 64)),
                          torch.deg2rad(torch.linspace(-fov / 2, fov / 2, n_az)), indexing='ij')
    d = torch.stack([e.cos() * a.cos(), e.cos() * a.sin(), e.sin()], -1).reshape(-1, 3)
    cars = torch.cat([torch.rand(8, 1, generator=g) * 50 + 6,
                      torch.rand(8, 1, generator=g) * 30 - 15, torch.full((8, 1), -0.98)], 1)
    centre = torch.cat([cars, torch.tensor([[40.0, 22.0, 0.0], [40.0, -25.0, 0.0]])])
    half = torch.cat([torch.tensor([[2.0, 0.9, 0.75]]).expand(8, 3),
                      torch.tensor([[40.0, 0.3, 1.8]]).expand(2, 3)])
    inv = 1 / torch.where(d.abs() < 1e-9, torch.full_like(d, 1e-9), d)
    t0, t1 = (centre - half)[None] * inv[:, None], (centre + half)[None] * inv[:, None]
    t_near, t_far = torch.minimum(t0, t1).amax(-1), torch.maximum(t0, t1).amin(-1)
    t_box = torch.where((t_near <= t_far) & (t_near > 0), t_near, math.inf).amin(-1)
    t = torch.minimum(t_box, torch.where(d[:, 2] < 0, -1.73 / d[:, 2], math.inf))
    hit = t < 80
    t = t[hit] * (1 + 0.002 * torch.randn(int(hit.sum()), generator=g))
    return torch.cat([d[hit] * t[:, None], torch.rand(len(t), 1, generator=g)], 1)
