"""Convert Waymo Open Dataset (v1.x perception) segments to the KITTI layout that
``create_kitti_infos.py --waymo`` reads, for pretraining (images, calibration, points; no labels:
use mmdet3d's converter when you need boxes).

    python data_prep/waymo_to_kitti.py --root waymo/training --out data/waymo_kitti \\
        --split training

Needs the optional ``waymo-open-dataset`` package (TensorFlow based). Without it the script prints
what to install and exits with status 2. This conversion path could not be run where the project
is developed (the package is not installed there): treat it as untested and compare a few frames
with mmdet3d's converter before a long run.

Output, per frame id ``<prefix><segment:03d><frame:03d>`` (prefix 0 training, 1 validation,
2 testing; training and validation both go to ``training/``, as with mmdet3d):
``{training,testing}/image_{0..4}/<id>.jpg`` (0 = FRONT), ``calib/<id>.txt`` with ``P0..P4``,
identity ``R0_rect``, ``Tr_velo_to_cam_0..4``, ``velodyne/<id>.bin`` float32 (x, y, z, intensity,
elongation, time) in the vehicle frame, both returns of all five LiDARs, and the ids in
``ImageSets/{train,val,test}.txt``. Unlike mmdet3d (absolute microseconds, which float32 cannot
hold), the time channel is seconds since the segment's first frame.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

MISSING = """waymo_to_kitti.py needs the optional Waymo Open Dataset package (and TensorFlow):
    pip install waymo-open-dataset-tf-2-12-0
(or the build matching your TensorFlow; its wheels target older Pythons, so a separate virtual
environment may be needed). It writes, under --out:
    training/ or testing/  image_0..4/<id>.jpg  calib/<id>.txt  velodyne/<id>.bin (6 x float32)
    ImageSets/train.txt, val.txt or test.txt
then run: python data_prep/create_kitti_infos.py --root <out> --waymo"""
SPLITS = dict(training=('0', 'training', 'train'), validation=('1', 'training', 'val'),
              testing=('2', 'testing', 'test'))
# Waymo camera frame (x forward, y left, z up) -> KITTI camera frame (x right, y down, z forward)
WAYMO_TO_KITTI_CAM = np.array([[0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0], [0, 0, 0, 1.0]])


def calib_text(frame):
    lines, transforms = [], []
    for cam in sorted(frame.context.camera_calibrations, key=lambda c: c.name):
        fu, fv, cu, cv = cam.intrinsic[:4]
        lines.append(f'P{cam.name - 1}: ' + ' '.join(
            map(str, [fu, 0, cu, 0, 0, fv, cv, 0, 0, 0, 1, 0])))
        cam_to_vehicle = np.array(cam.extrinsic.transform).reshape(4, 4)
        tr = WAYMO_TO_KITTI_CAM @ np.linalg.inv(cam_to_vehicle)
        transforms.append(f'Tr_velo_to_cam_{cam.name - 1}: ' + ' '.join(map(str, tr[:3].ravel())))
    return '\n'.join(lines + ['R0_rect: 1 0 0 0 1 0 0 0 1'] + transforms) + '\n'


def points(frame, frame_utils, t0):
    range_images, projections, *_, top_pose = \
        frame_utils.parse_range_image_and_camera_projection(frame)
    clouds = []
    for ri_index in (0, 1):
        # keep_polar_features: columns (range, intensity, elongation, x, y, z), vehicle frame
        per_lidar, _ = frame_utils.convert_range_image_to_point_cloud(
            frame, range_images, projections, top_pose, ri_index=ri_index, keep_polar_features=True)
        clouds.extend(per_lidar)
    p = np.concatenate(clouds)
    t = np.full(len(p), (frame.timestamp_micros - t0) * 1e-6)
    return np.column_stack([p[:, 3:6], p[:, 1], p[:, 2], t]).astype(np.float32)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--root', help='folder of segment .tfrecord files (required)')
    parser.add_argument('--out', help='folder of the KITTI-layout tree (required)')
    # deprecated spellings; argparse's required= would not count them, hence the check below
    parser.add_argument('--load-dir', dest='root', help=argparse.SUPPRESS)
    parser.add_argument('--out-dir', dest='out', help=argparse.SUPPRESS)
    parser.add_argument('--split', choices=list(SPLITS), default='training')
    args = parser.parse_args(argv)
    if not (args.root and args.out):
        parser.error('the following arguments are required: --root, --out')
    try:
        import tensorflow as tf
        from waymo_open_dataset import dataset_pb2
        from waymo_open_dataset.utils import frame_utils
    except ImportError as exc:
        print(f'{MISSING}\n({exc})', file=sys.stderr)
        return 2
    prefix, folder, list_name = SPLITS[args.split]
    out = Path(args.out) / folder
    for sub in ['calib', 'velodyne'] + [f'image_{i}' for i in range(5)]:
        (out / sub).mkdir(parents=True, exist_ok=True)
    segments = sorted(Path(args.root).glob('*.tfrecord'))
    ids = []
    for s, segment in enumerate(segments):
        t0 = None
        for f, record in enumerate(tf.data.TFRecordDataset(str(segment), compression_type='')):
            frame = dataset_pb2.Frame()
            frame.ParseFromString(bytearray(record.numpy()))
            t0 = frame.timestamp_micros if t0 is None else t0
            frame_id = f'{prefix}{s:03d}{f:03d}'
            for image in frame.images:
                (out / f'image_{image.name - 1}' / f'{frame_id}.jpg').write_bytes(image.image)
            (out / 'calib' / f'{frame_id}.txt').write_text(calib_text(frame))
            points(frame, frame_utils, t0).tofile(out / 'velodyne' / f'{frame_id}.bin')
            ids.append(frame_id)
        print(f'[{s + 1}/{len(segments)}] {segment.name}: {len(ids)} frames so far', flush=True)
    image_sets = Path(args.out) / 'ImageSets'
    image_sets.mkdir(parents=True, exist_ok=True)
    (image_sets / f'{list_name}.txt').write_text(''.join(f'{i}\n' for i in ids))
    print(f'{len(ids)} frames -> {out}; next: python data_prep/create_kitti_infos.py '
          f'--root {args.out} --waymo')
    return 0


if __name__ == '__main__':
    sys.exit(main())
