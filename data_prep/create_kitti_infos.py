"""Write mmdet3d >= 1.1 info files and camera-frustum point clouds for KITTI, or for Waymo frames
converted to KITTI layout (``--waymo``).

    python data_prep/create_kitti_infos.py --root data/kitti [--out DIR] [--waymo] [--workers N]
        [--skip-bad]

Reads ``ImageSets/{train,val,trainval,test}.txt`` (those present) and, per listed frame,
``{training,testing}/{velodyne,calib,image_<i>,label_<c>}``; labels are optional (``testing`` has
none). Writes ``<out>/{kitti,waymo}_infos_<split>.pkl`` =
``{'metainfo': {categories, dataset, info_version: '1.1'}, 'data_list': [...]}`` with mmdet3d's keys
(``sample_idx``, ``images`` with per-camera ``cam2img`` / ``lidar2cam`` / ``lidar2img`` and
``img_path`` / ``height`` / ``width`` where the image folder exists, ``lidar_points``, ``instances``
with camera-frame ``bbox_3d`` = (x, y, z, l, h, w, ry) bottom centre), and
``<split folder>/velodyne_reduced/*.bin``: the points whose projection into the reference image
(KITTI image_2, Waymo image_0 = FRONT) lies at least 1 mm in front of the camera and between the
first and last pixel centres, 0 <= u <= W - 1, 0 <= v <= H - 1: the rule by which SimIPU pairs a
point with a pixel, so every point of these clouds has one. (mmdet3d's converter keeps the
frustum of [0, W] x [0, H] up to 100 m depth: a half-pixel strip more on two edges, ~0.3% of the
points, and no points beyond 100 m.) ``num_lidar_pts`` counts those points per box in mmdet3d's
box (bottom centre mapped to the LiDAR frame, height along LiDAR z:
``mm_ssl.datasets.kitti_io.mmdet3d_counting_boxes``); DontCare objects get label -1, index -1
and ``num_lidar_pts`` -1.

KITTI: 4 float32 channels per point, cameras 0-3. Waymo (mmdet3d's converter): 6 channels
(x, y, z, intensity, elongation, timestamp; datasets use the first 5), cameras 0-4, calib
``P0..P4`` and ``Tr_velo_to_cam_0..4``, ``.jpg`` images.
"""
import argparse
import pickle
from contextlib import nullcontext
from functools import partial
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image

from mm_ssl.datasets.kitti_io import (CAMERA_KEYS, lidar2cam, lidar2img, mmdet3d_counting_boxes,
                                      points_in_lidar_boxes, project_points, read_calib,
                                      read_label, read_points, read_text, velo_to_cam)
from mm_ssl.engine.cli import exit_on_error
from mm_ssl.errors import DataError
from mm_ssl.ops.projection import seen_by_camera
from mm_ssl.progress import progress

CLASSES = dict(kitti=('Pedestrian', 'Cyclist', 'Car', 'Van', 'Truck', 'Person_sitting', 'Tram',
                      'Misc'),
               waymo=('Car', 'Pedestrian', 'Cyclist', 'Sign'))  # mmdet3d's metainfo order
SPLITS = dict(train='training', val='training', trainval='training', test='testing')
# KITTI benchmark levels easy, moderate, hard: (min 2D box height px, max occlusion, max truncation)
DIFFICULTY = ((40, 0, 0.15), (25, 1, 0.30), (25, 2, 0.50))


def image_file(folder, frame):
    for ext in ('.png', '.jpg', '.jpeg'):
        if (folder / (frame + ext)).is_file():
            return folder / (frame + ext)
    raise DataError(f'{folder / frame}.png: missing file (no .png or .jpg image of this frame)')


def image_size(path):
    """(width, height) from the image header, without decoding."""
    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, SyntaxError, ValueError) as exc:  # PIL raises all three for bad files
        raise DataError(f'{path}: cannot read image ({exc})') from exc


def in_image(xyz, lidar2img, width, height):
    """Points that have a pixel, by SimIPU's rule (:func:`seen_by_camera`)."""
    with np.errstate(divide='ignore', invalid='ignore'):  # depth 0: masked by the depth test
        uv, depth = project_points(xyz.astype(np.float64), lidar2img)
    return seen_by_camera(uv, depth, (height, width))


def difficulty(obj):
    height = obj['bbox'][3] - obj['bbox'][1]
    for level, (min_height, max_occluded, max_truncated) in enumerate(DIFFICULTY):
        if height > min_height and obj['occluded'] <= max_occluded \
                and obj['truncated'] <= max_truncated:
            return level
    return -1


def instances(objects, calib, camera, reduced_xyz, classes):
    """mmdet3d instance dicts of one frame's label objects."""
    cam_boxes = np.array([[*o['location'], o['dimensions'][2], *o['dimensions'][:2],
                           o['rotation_y']] for o in objects]).reshape(-1, 7)  # hwl -> lhw
    inside = points_in_lidar_boxes(reduced_xyz,
                                   mmdet3d_counting_boxes(cam_boxes, lidar2cam(calib, camera)))
    centre = cam_boxes[:, :3].copy()
    centre[:, 1] -= cam_boxes[:, 4] / 2  # gravity centre: y points down
    centre_2d, depth = project_points(centre, calib[f'P{camera}'])
    out, index = [], 0
    for k, obj in enumerate(objects):
        care = obj['type'] != 'DontCare'
        label = classes.index(obj['type']) if obj['type'] in classes else -1
        out.append(dict(bbox=obj['bbox'].tolist(), bbox_label=label,
                        bbox_3d=cam_boxes[k].tolist(), bbox_label_3d=label,
                        depth=float(depth[k]), center_2d=centre_2d[k].tolist(),
                        num_lidar_pts=int(inside[:, k].sum()) if care else -1,
                        difficulty=difficulty(obj), truncated=obj['truncated'],
                        occluded=obj['occluded'], alpha=obj['alpha'],
                        score=obj.get('score', 0.0), index=index if care else -1, group_id=k))
        index += care
    return out


def frame_info(root, folder, frame, waymo=False):
    """Info dict of one frame; writes its ``velodyne_reduced`` cloud. Returns (info, names of
    object types outside the class list)."""
    split_dir, dataset = root / folder, 'waymo' if waymo else 'kitti'
    camera = 0 if waymo else 2
    calib = read_calib(split_dir / 'calib' / f'{frame}.txt', camera)
    points = read_points(split_dir / 'velodyne' / f'{frame}.bin', 6 if waymo else 4)
    images = {}
    for i, key in enumerate(CAMERA_KEYS[dataset]):
        if f'P{i}' not in calib or velo_to_cam(calib, i) is None:
            continue
        images[key] = dict(cam2img=calib[f'P{i}'].tolist(), lidar2cam=lidar2cam(calib, i).tolist(),
                           lidar2img=lidar2img(calib, i).tolist())
        if (split_dir / f'image_{i}').is_dir():
            path = image_file(split_dir / f'image_{i}', frame)
            width, height = image_size(path)
            images[key].update(img_path=path.name, height=height, width=width)
    images['R0_rect'] = calib['R0_rect'].tolist()
    ref = images[CAMERA_KEYS[dataset][camera]]
    if 'img_path' not in ref:
        raise DataError(f'{split_dir / f"image_{camera}"}: no such directory (the reference '
                        'camera image sets the frustum of velodyne_reduced)')
    reduced = points[in_image(points[:, :3], lidar2img(calib, camera), ref['width'],
                              ref['height'])]
    reduced.tofile(split_dir / 'velodyne_reduced' / f'{frame}.bin')
    lidar_points = dict(num_pts_feats=points.shape[1], lidar_path=f'{frame}.bin',
                        Tr_velo_to_cam=velo_to_cam(calib, camera).tolist())
    if 'Tr_imu_to_velo' in calib:
        lidar_points['Tr_imu_to_velo'] = calib['Tr_imu_to_velo'].tolist()
    objects = []
    if (split_dir / f'label_{camera}').is_dir():
        objects = read_label(split_dir / f'label_{camera}' / f'{frame}.txt')
    info = dict(sample_idx=int(frame), images=images, lidar_points=lidar_points,
                instances=instances(objects, calib, camera, reduced[:, :3], CLASSES[dataset]))
    return info, {o['type'] for o in objects} - set(CLASSES[dataset])


def _work(task, root, waymo, skip_bad):
    try:
        return task, *frame_info(root, *task, waymo=waymo), None
    except DataError as exc:
        if not skip_bad:
            raise
        return task, None, set(), str(exc)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--root', default='data/kitti', help='dataset root (holds ImageSets/)')
    parser.add_argument('--out', help='folder the .pkl files go to (default: --root)')
    parser.add_argument('--out-dir', dest='out', help=argparse.SUPPRESS)  # deprecated spelling
    parser.add_argument('--waymo', action='store_true', help='Waymo frames in KITTI layout')
    parser.add_argument('--workers', type=int, default=1, help='frames processed in parallel')
    parser.add_argument('--skip-bad', action='store_true',
                        help='log and skip a bad frame instead of stopping at it')
    args = parser.parse_args(argv)

    root = Path(args.root).expanduser()
    out_dir = Path(args.out).expanduser() if args.out else root
    dataset = 'waymo' if args.waymo else 'kitti'
    if not root.is_dir():
        raise DataError(f'{root}: no such directory (expected the KITTI tree: ImageSets/, '
                        'training/, testing/)')
    lists = {name: root / 'ImageSets' / f'{name}.txt' for name in SPLITS}
    splits = {name: read_text(f).split() for name, f in lists.items() if f.is_file()}
    for name, ids in splits.items():
        bad = [i for i in ids if not i.isdigit()]
        if bad:
            raise DataError(f'{lists[name]}: frame ids must be numbers like 000123, got {bad[0]!r}')
    if not splits:
        raise DataError(f'{root / "ImageSets"}: none of {", ".join(f.name for f in lists.values())}'
                        ' found (one frame id per line)')
    tasks = sorted({(SPLITS[name], frame) for name, ids in splits.items() for frame in ids})
    for folder in sorted({folder for folder, _ in tasks}):
        if not (root / folder / 'velodyne').is_dir():
            raise DataError(f'{root / folder / "velodyne"}: no such directory (listed frames of '
                            f'{folder}/ need their point clouds)')
        (root / folder / 'velodyne_reduced').mkdir(exist_ok=True)

    infos, skipped, ignored = {}, {}, set()
    work = partial(_work, root=root, waymo=args.waymo, skip_bad=args.skip_bad)
    with Pool(args.workers) if args.workers > 1 else nullcontext() as pool:
        results = pool.imap(work, tasks, chunksize=4) if pool else map(work, tasks)
        bar = progress(results, desc=f'writing {dataset} infos', total=len(tasks), unit='frame')
        for task, info, names, error in bar:
            if error:
                skipped[task] = error
                bar.set_postfix(skipped=len(skipped), refresh=False)
                bar.write(f'skipping {"/".join(task)}: {error}')
            else:
                infos[task] = info
                ignored |= names

    categories = {name: i for i, name in enumerate(CLASSES[dataset])}
    categories.update({name: -1 for name in sorted(ignored)})
    metainfo = dict(categories=categories, dataset=dataset, info_version='1.1')
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f'\n{dataset}: {len(infos)} frames written, {len(skipped)} bad frames skipped')
    for name, ids in splits.items():
        data_list = [infos[SPLITS[name], i] for i in ids if (SPLITS[name], i) in infos]
        path = out_dir / f'{dataset}_infos_{name}.pkl'
        with open(path, 'wb') as f:
            pickle.dump(dict(metainfo=metainfo, data_list=data_list), f)
        print(f'  {name:<8} {len(data_list):6d} frames -> {path}')
    for task, error in skipped.items():
        print(f'  skipped {"/".join(task)}: {error}')
    return infos, skipped


if __name__ == '__main__':
    with exit_on_error():
        main()
