"""Convert Waymo Open Dataset perception segments (v1.x ``*.tfrecord`` or v2 Parquet) to the KITTI
layout that ``create_kitti_infos.py --waymo`` reads, for pretraining (images, calibration, points;
no labels: use mmdet3d's converter when you need boxes). No TensorFlow: records, protos, Parquet
tables and range images are read by mm_ssl.datasets.waymo (protos from
``pip install --no-deps waymo-open-dataset-tf-2-12-0``).

    python data_prep/waymo_to_kitti.py --root waymo/training --out data/waymo_kitti \\
        [--split training] [--workers N]

``--root`` holds v1 segment files (``*.tfrecord``, sorted by name) or the v2 component folders
(``lidar/``, ``lidar_pose/``, ``lidar_calibration/``, ``vehicle_pose/``, ``camera_image/``,
``camera_calibration/``, one ``<segment>.parquet`` each; segments sorted by name). Read per
frame: the five LiDARs' range images (both returns; the TOP LiDAR's per-pixel pose for ego-motion
compensation), the frame's vehicle pose, the camera images (JPEG) and the camera calibrations.
Written, per frame id ``<prefix><segment:03d><frame:03d>`` (prefix 0 training, 1 validation,
2 testing; training and validation both go to ``training/``, as with mmdet3d):

    {training,testing}/image_{0..4}/<id>.jpg   the JPEG as stored (0 = FRONT)
    {training,testing}/calib/<id>.txt          P0..P4, identity R0_rect, Tr_velo_to_cam_0..4
    {training,testing}/velodyne/<id>.bin       float32 (x, y, z, intensity, elongation, time)
    ImageSets/{train,val,test}.txt             the ids of the split

Points are in the vehicle frame at the frame's timestamp, first returns of all LiDARs then second
returns, as mmdet3d's converter writes them. Unlike mmdet3d (absolute microseconds, which float32
cannot hold), time is seconds since the segment's first frame. Camera distortion is dropped, as
mmdet3d does (the layout has no place for it).

Resumable: a frame whose ``velodyne/<id>.bin`` exists is skipped (each file is written to a
temporary name and renamed, the ``.bin`` last). A truncated record, a bad CRC, a frame without the
TOP LiDAR or a camera without calibration stop the run with an ``error:`` line naming the segment
and the frame.
"""
import argparse
import os
from functools import partial
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from mm_ssl.datasets.waymo import (CAMERA_NAMES, WaymoSegment, WaymoV2Segment, frame_points,
                                   kitti_calibration)
from mm_ssl.engine.cli import exit_on_error
from mm_ssl.errors import DataError
from mm_ssl.progress import progress

SPLITS = dict(training=('0', 'training', 'train'), validation=('1', 'training', 'val'),
              testing=('2', 'testing', 'test'))
MAX_INDEX = 1000  # segment and frame numbers have 3 digits in the ids
FRAMES_PER_TASK = 10  # frames converted per worker task: one progress step


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, then rename: a killed run leaves no partial
    file under the final name."""
    tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
    tmp.write_bytes(data)
    os.replace(tmp, path)


def calib_text(calib: dict) -> str:
    """KITTI calib file text, numbers as Python's shortest round-trip repr."""
    return ''.join(f'{key}: ' + ' '.join(repr(float(x)) for x in value.ravel()) + '\n'
                   for key, value in calib.items())


def convert_frame(frame, t0_micros: int, out: Path, frame_id: str) -> None:
    """Write one frame's (a :class:`~mm_ssl.datasets.waymo.WaymoFrame`) images, calibration
    and points (the points last)."""
    calib = kitti_calibration(frame.cameras)
    for name in frame.images:
        if name not in frame.cameras:
            raise DataError(f'camera {CAMERA_NAMES.get(name, name)} has an image but no '
                            'calibration')
    points = frame_points(frame)
    time = (frame.timestamp_micros - t0_micros) * 1e-6
    cloud = np.column_stack([points.xyz, points.intensity, points.elongation,
                             np.full(len(points.xyz), time)]).astype(np.float32)
    for name, jpeg in frame.images.items():
        write_atomic(out / f'image_{name - 1}' / f'{frame_id}.jpg', jpeg)
    write_atomic(out / 'calib' / f'{frame_id}.txt', calib_text(calib).encode())
    write_atomic(out / 'velodyne' / f'{frame_id}.bin', cloud.tobytes())


def find_segments(root: Path) -> list:
    """Specs of the segments under ``root``: ('v1', file) for each ``*.tfrecord``, else
    ('v2', root, name) for each ``lidar/<name>.parquet``."""
    v1 = sorted(root.glob('*.tfrecord'))
    if v1:
        return [('v1', str(path)) for path in v1]
    v2 = sorted((root / 'lidar').glob('*.parquet'))
    if v2:
        return [('v2', str(root), path.stem) for path in v2]
    raise DataError(f'{root}: no *.tfrecord segment files (v1) and no lidar/*.parquet (v2)')


def open_segment(spec):
    return WaymoSegment(spec[1]) if spec[0] == 'v1' else WaymoV2Segment(*spec[1:])


def convert_frames(task, out, prefix):
    """Convert frames ``first..last-1`` of segment number ``s`` (a worker task); frames already
    written are skipped. Returns (frames in the task, frames converted)."""
    spec, s, first, last = task
    segment, converted = open_segment(spec), 0
    t0 = None
    for f in range(first, last):
        frame_id = f'{prefix}{s:03d}{f:03d}'
        if (out / 'velodyne' / f'{frame_id}.bin').is_file():
            continue
        t0 = segment.timestamp(0) if t0 is None else t0
        frame = segment.frame(f)
        try:
            convert_frame(frame, t0, out, frame_id)
        except DataError as exc:
            raise DataError(f'{segment.path}: frame {f}: {exc}') from None
        converted += 1
    return last - first, converted


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--root', help='folder of v1 segment .tfrecord files, or of the v2 '
                        'component folders (required)')
    parser.add_argument('--out', help='folder of the KITTI-layout tree (required)')
    # deprecated spellings; argparse's required= would not count them, hence the check below
    parser.add_argument('--load-dir', dest='root', help=argparse.SUPPRESS)
    parser.add_argument('--out-dir', dest='out', help=argparse.SUPPRESS)
    parser.add_argument('--split', choices=list(SPLITS), default='training',
                        help='which Waymo split --root holds (sets the id prefix and list)')
    parser.add_argument('--workers', type=int, default=1, help='processes converting frames')
    args = parser.parse_args(argv)
    if not (args.root and args.out):
        parser.error('the following arguments are required: --root, --out')
    root, out_root = Path(args.root).expanduser(), Path(args.out).expanduser()
    prefix, folder, list_name = SPLITS[args.split]
    specs = find_segments(root)
    if len(specs) > MAX_INDEX:
        raise DataError(f'{root}: {len(specs)} segments, but frame ids hold 3 digits of segment '
                        f'number: convert at most {MAX_INDEX} per --out')
    segments = [open_segment(spec) for spec in specs]  # finds truncated files before any work
    for segment in segments:
        if len(segment) > MAX_INDEX:
            raise DataError(f'{segment.path}: {len(segment)} frames, more than the {MAX_INDEX} '
                            'that 3-digit frame numbers in the ids hold')
    out = out_root / folder
    for sub in ['calib', 'velodyne'] + [f'image_{i}' for i in range(5)]:
        (out / sub).mkdir(parents=True, exist_ok=True)
    tasks = [(spec, s, first, min(first + FRAMES_PER_TASK, len(seg)))
             for s, (spec, seg) in enumerate(zip(specs, segments))
             for first in range(0, len(seg), FRAMES_PER_TASK)]
    total = sum(len(seg) for seg in segments)
    work = partial(convert_frames, out=out, prefix=prefix)
    converted = 0
    with Pool(args.workers) if args.workers > 1 else _Inline() as pool:
        bar = progress(desc=f'converting {len(segments)} Waymo segments', total=total,
                       unit='frame')
        for done, written in pool.imap_unordered(work, tasks):
            converted += written
            bar.update(done)
        bar.close()
    ids = [f'{prefix}{s:03d}{f:03d}' for s, seg in enumerate(segments) for f in range(len(seg))]
    (out_root / 'ImageSets').mkdir(exist_ok=True)
    write_atomic(out_root / 'ImageSets' / f'{list_name}.txt', ''.join(f'{i}\n' for i in ids)
                 .encode())
    print(f'{total} frames of {len(segments)} segments in {out} ({converted} converted, '
          f'{total - converted} already there); next: python data_prep/create_kitti_infos.py '
          f'--root {out_root} --waymo')
    return dict(frames=total, converted=converted, ids=ids)


class _Inline:
    """``Pool``'s ``imap_unordered`` in this process (one worker: no pickling, plain tracebacks)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @staticmethod
    def imap_unordered(fn, tasks):
        return map(fn, tasks)


if __name__ == '__main__':
    with exit_on_error():
        main()
