"""Synthetic KITTI: procedural street scenes seen by a 64-beam spinning LiDAR and KITTI's left
colour camera through ONE ray-cast geometry, written as KITTI's 3D object detection tree (the
embedded default dataset for LiDAR + camera pretraining; see mm_ssl.synthetic.scene).

    DIR/training/velodyne/NNNNNN.bin   float32 (N, 4): x, y, z, intensity
    DIR/training/image_2/NNNNNN.png    RGB, 1242 x 375 unless --width/--height
    DIR/training/calib/NNNNNN.txt      P0..P3, R0_rect, Tr_velo_to_cam, Tr_imu_to_velo
    DIR/training/label_2/NNNNNN.txt    Car / Van / Pedestrian / Cyclist / DontCare lines
    DIR/ImageSets/{train,val,trainval,test}.txt
    DIR/testing/{velodyne,image_2,calib}/  only with --test-frames K > 0: K unlabelled frames
                                       that test.txt lists (empty otherwise)
    DIR/synthetic_kitti.json           parameters and summary; marks DIR as generated, so a
                                       re-run may replace it (any other non-empty DIR is refused)

--debug-ids adds, next to each frame's files: ids_2/NNNNNN.png (uint8 object id per pixel,
0 = ground or sky), depth_2/NNNNNN.png (uint16 depth * 256 as in KITTI depth completion, 0 = no
surface; depth = third coordinate of P2 · R0_rect · Tr_velo_to_cam · [x y z 1]),
velodyne_ids/NNNNNN.npy (uint8 object id per LiDAR point, in .bin order) and
objects/NNNNNN.json (per object: id, type, box bottom centre, dims (l, w, h) and yaw in the
LiDAR frame, its label_2 line index or null, LiDAR points and visible pixels). Label boxes
leave ~5 cm around the object's surfaces, more than the LiDAR range noise.

Frame i of training (testing) is drawn from numpy's default_rng([seed, 0 (1), i]) and the
train/val split from default_rng([seed, 2]): the output is a pure function of the arguments.
"""
import argparse
import json
import shutil
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from mm_ssl.synthetic.scene import KITTI_SIZE, LidarConfig, format_calib, make_frame
from mm_ssl.errors import ConfigError, DataError
from mm_ssl.progress import progress

MARKER = 'synthetic_kitti.json'


def _prepare(out):
    """Empty ``out`` of an earlier run; refuse any other non-empty directory."""
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise DataError(f'{out}: not empty and holds no {MARKER}, so it is not a synthetic '
                            'KITTI tree from an earlier run; choose another --out')
        for name in ('training', 'testing', 'ImageSets', MARKER):
            path = out / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def _write_frame(job):
    """Generate and write one frame; returns its statistics. ``job`` is a tuple so that a
    process pool can map over jobs."""
    out, split, index, seed, width, height, azimuth_steps, debug = job
    start = time.perf_counter()
    frame = make_frame(np.random.default_rng([seed, int(split == 'testing'), index]), width, height,
                       LidarConfig(azimuth_steps=azimuth_steps))
    root, name = Path(out) / split, f'{index:06d}'
    files = dict(velodyne='.bin', image_2='.png', calib='.txt')
    if split == 'training':
        files['label_2'] = '.txt'
    if debug:
        files.update(ids_2='.png', depth_2='.png', velodyne_ids='.npy', objects='.json')
    path = {k: root / k / (name + ext) for k, ext in files.items()}
    for p in path.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    frame.points.tofile(path['velodyne'])
    Image.fromarray(frame.image).save(path['image_2'])
    path['calib'].write_text(format_calib(frame.calib))
    if 'label_2' in path:
        path['label_2'].write_text(''.join(line + '\n' for line in frame.labels))
    if debug:
        Image.fromarray(frame.ids).save(path['ids_2'])
        depth = np.where(frame.depth * 256 < 65535.5, np.round(frame.depth * 256), 0)
        Image.fromarray(depth.astype(np.uint16)).save(path['depth_2'])
        np.save(path['velodyne_ids'], frame.point_ids)
        points = np.bincount(frame.point_ids, minlength=256)
        pixels = np.bincount(frame.ids.ravel(), minlength=256)
        path['objects'].write_text(json.dumps([dict(
            id=o.id, type=o.cls, bottom=o.bottom.round(4).tolist(), dims=o.dims.round(4).tolist(),
            yaw=round(o.yaw, 6), label_line=frame.label_of.get(o.id),
            lidar_points=int(points[o.id]), visible_pixels=int(pixels[o.id]))
            for o in frame.scene.objects], indent=1))
    classes = Counter(line.split()[0] for line in frame.labels)
    return dict(split=split, name=name, points=len(frame.points), labels=dict(classes),
                seconds=time.perf_counter() - start)


def make_synthetic_kitti(out, frames=40, seed=0, width=KITTI_SIZE[0], height=KITTI_SIZE[1],
                         test_frames=0, val_fraction=0.5, azimuth_steps=2048, debug_ids=False,
                         workers=1, verbose=True):
    """Write ``frames`` labelled training frames (and ``test_frames`` unlabelled testing ones)
    as a KITTI tree under ``out``; ``val_fraction`` of the training ids go to val.txt, the rest
    to train.txt. Returns a summary dict (also stored in ``out/synthetic_kitti.json``)."""
    if frames < 1 or test_frames < 0:
        raise ConfigError(f'frames must be >= 1 and test_frames >= 0, got {frames}, {test_frames}')
    if width < 16 or height < 16 or azimuth_steps < 16 or not 0 <= val_fraction < 1:
        raise ConfigError('width, height, azimuth_steps must be >= 16 and val_fraction in '
                          f'[0, 1), got {width}, {height}, {azimuth_steps}, {val_fraction}')
    out, start = Path(out), time.perf_counter()
    params = dict(frames=frames, seed=seed, width=width, height=height, test_frames=test_frames,
                  val_fraction=val_fraction, azimuth_steps=azimuth_steps, debug_ids=debug_ids)
    _prepare(out)
    (out / MARKER).write_text(json.dumps(dict(params=params), indent=1))  # claims DIR first

    jobs = [(str(out), split, i, seed, width, height, azimuth_steps, debug_ids)
            for split, n in (('training', frames), ('testing', test_frames)) for i in range(n)]
    pool = ProcessPoolExecutor(workers) if workers > 1 else None
    stats = []
    bar = progress(pool.map(_write_frame, jobs) if pool else map(_write_frame, jobs),
                   desc='writing synthetic KITTI frames', total=len(jobs), unit='frame',
                   disable=not verbose)
    for s in bar:
        stats.append(s)
        bar.set_postfix(points=s['points'], labels=sum(s['labels'].values()), refresh=False)
    if pool:
        pool.shutdown()

    ids = [f'{i:06d}' for i in range(frames)]
    n_val = min(round(frames * val_fraction), frames - 1)
    val = set(np.random.default_rng([seed, 2]).permutation(frames)[:n_val].tolist())
    sets = dict(train=[x for i, x in enumerate(ids) if i not in val],
                val=[x for i, x in enumerate(ids) if i in val], trainval=ids,
                test=[f'{i:06d}' for i in range(test_frames)])
    (out / 'ImageSets').mkdir(exist_ok=True)
    for name, rows in sets.items():
        (out / 'ImageSets' / f'{name}.txt').write_text(''.join(r + '\n' for r in rows))

    points = np.array([s['points'] for s in stats])
    seconds = time.perf_counter() - start
    summary = dict(out=str(out), **params, splits={k: len(v) for k, v in sets.items()},
                   points=dict(mean=float(points.mean()), min=int(points.min()),
                               max=int(points.max())),
                   labels=dict(sum((Counter(s['labels']) for s in stats), Counter())),
                   seconds=round(seconds, 2),
                   seconds_per_frame=round(float(np.mean([s['seconds'] for s in stats])), 3))
    (out / MARKER).write_text(json.dumps(dict(params=params, summary=summary), indent=1))
    if verbose:
        print(f'wrote {frames} training + {test_frames} testing frames to {out} in '
              f'{seconds:.1f} s ({summary["seconds_per_frame"]:.2f} s per frame per worker); '
              f'points per frame {points.mean():,.0f} (min {points.min():,}, max '
              f'{points.max():,}); labels {summary["labels"]}; '
              + ', '.join(f'{k} {v}' for k, v in summary['splits'].items()))
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', required=True, help='output directory (DIR)')
    parser.add_argument('--frames', type=int, default=40, help='labelled training frames')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--width', type=int, default=KITTI_SIZE[0])
    parser.add_argument('--height', type=int, default=KITTI_SIZE[1])
    parser.add_argument('--test-frames', type=int, default=0,
                        help='unlabelled frames under testing/ (default none: test.txt empty)')
    parser.add_argument('--val-fraction', type=float, default=0.5)
    parser.add_argument('--azimuth-steps', type=int, default=2048,
                        help='LiDAR azimuth steps per revolution (64 beams each)')
    parser.add_argument('--debug-ids', action='store_true',
                        help='also write object-id maps, depth maps and per-point object ids')
    parser.add_argument('--workers', type=int, default=1, help='processes generating frames')
    args = parser.parse_args(argv)
    return make_synthetic_kitti(args.out, args.frames, args.seed, args.width, args.height,
                                args.test_frames, args.val_fraction, args.azimuth_steps,
                                args.debug_ids, args.workers)


if __name__ == '__main__':
    from mm_ssl.engine.cli import exit_on_error
    with exit_on_error():
        main()
