"""Synthetic Waymo Open Dataset: procedural street scenes driven through by a Waymo-like vehicle
(five LiDARs, five cameras), written as real v1.x segment files (TFRecord framing, dataset_pb2
Frame protos) that data_prep/waymo_to_kitti.py converts like real ones (see
mm_ssl.synthetic.waymo for the sensors and conventions).

    python data_prep/make_synthetic_waymo.py --out DIR [--segments 2] [--frames 3] [--seed 0]
        [--width 96] [--azimuth-steps 256] [--v2]

    DIR/segment-<name>_with_camera_labels.tfrecord   one per segment, --frames frames each
    DIR/<component>/<name>.parquet                   with --v2 instead: Waymo's v2 layout

Segment i is drawn from numpy's default_rng([seed, i]): the output is a pure function of the
arguments.
"""
import argparse
from pathlib import Path

import numpy as np

from mm_ssl.synthetic.waymo import make_segment, write_segment, write_segment_v2
from mm_ssl.errors import ConfigError
from mm_ssl.progress import progress


def make_synthetic_waymo(out, segments=2, frames=3, seed=0, width=96, azimuth_steps=256,
                         v2=False, verbose=True):
    """Write ``segments`` segments of ``frames`` frames under ``out`` (v1 files, or the v2
    layout); returns, per segment, its v1 path (None for v2) and its frames with their scene
    truth (:class:`SyntheticFrame`)."""
    if segments < 1 or frames < 1 or width < 16 or azimuth_steps < 16:
        raise ConfigError('segments and frames must be >= 1, width and azimuth_steps >= 16, got '
                          f'{segments}, {frames}, {width}, {azimuth_steps}')
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i in progress(range(segments), desc='writing synthetic Waymo segments', unit='segment',
                      disable=not verbose):
        seg_frames = make_segment(np.random.default_rng([seed, i]), frames, azimuth_steps,
                                  width=width, name=f'{seed:04d}{i:04d}_synthetic')
        path = None if v2 else \
            out / f'segment-{seg_frames[0].proto.context.name}_with_camera_labels.tfrecord'
        write_segment_v2(out, seg_frames) if v2 else write_segment(path, seg_frames)
        written.append((path, seg_frames))
    if verbose:
        points = [len(f.points) for _, fs in written for f in fs]
        print(f'wrote {segments} segments x {frames} frames to {out}; points per frame '
              f'{np.mean(points):,.0f}; next: python data_prep/waymo_to_kitti.py --root {out} '
              '--out DIR')
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', required=True, help='output directory (DIR)')
    parser.add_argument('--segments', type=int, default=2)
    parser.add_argument('--frames', type=int, default=3, help='frames per segment (10 Hz)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--width', type=int, default=96, help='camera image width')
    parser.add_argument('--azimuth-steps', type=int, default=256,
                        help='TOP LiDAR range image columns (64 rows)')
    parser.add_argument('--v2', action='store_true', help="Waymo's v2 layout (Parquet)")
    args = parser.parse_args(argv)
    return make_synthetic_waymo(args.out, args.segments, args.frames, args.seed, args.width,
                                args.azimuth_steps, args.v2)


if __name__ == '__main__':
    from mm_ssl.engine.cli import exit_on_error
    with exit_on_error():
        main()
