"""Synthetic action videos in UCF101's layout: classes that only motion tells apart (the embedded
default for video self-supervision; see mm_ssl.synthetic.video).

    DIR/<Class>/v_<Class>_gNN_c01.mp4   H.264, --size px square, --seconds at --fps, a keyframe
                                         every --gop frames
    DIR/classInd.txt                     "1 MoveRight" ... (1-based, UCF101 format)
    DIR/trainlist01.txt                  "MoveRight/v_MoveRight_g04_c01.mp4 1"
    DIR/testlist01.txt                   "MoveRight/v_MoveRight_g01_c01.mp4"
    DIR/synthetic_videos.json            parameters and per-video labels; marks DIR as generated,
                                         so a re-run may replace it (any other non-empty DIR is
                                         refused)

Video v has class v % 10 and group v // 10 + 1; like UCF101's split 1, the lowest groups of each
class (--test-fraction of them) are the test split. Video v is drawn from numpy's
default_rng([seed, v]) and encoded by single-threaded x264: the output is a pure function of the
arguments. --stamp writes each frame's number into a strip along its top edge (for decoding
tests; it would give temporal tasks a shortcut, so it is off by default).
"""
import argparse
import json
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from mm_ssl.synthetic.video import CLASSES, VideoSpec, render_video, write_video
from mm_ssl.errors import ConfigError, DataError
from mm_ssl.progress import progress

MARKER = 'synthetic_videos.json'
LISTS = ('classInd.txt', 'trainlist01.txt', 'testlist01.txt')


def _prepare(out):
    """Empty ``out`` of an earlier run; refuse any other non-empty directory."""
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise DataError(f'{out}: not empty and holds no {MARKER}, so it is not a synthetic '
                            'video set from an earlier run; choose another --out')
        for name in (*CLASSES, *LISTS, MARKER):
            path = out / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def video_name(index):
    """Relative path of video ``index``, UCF101-style."""
    name = CLASSES[index % len(CLASSES)]
    return f'{name}/v_{name}_g{index // len(CLASSES) + 1:02d}_c01.mp4'


def _write_video(job):
    out, index, seed, size, seconds, fps, gop, stamp = job
    spec = VideoSpec(label=index % len(CLASSES), width=size, height=size, fps=fps,
                     seconds=seconds)
    path = Path(out) / video_name(index)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_video(path, render_video(spec, np.random.default_rng([seed, index]), stamp), fps, gop)
    return spec.num_frames


def make_synthetic_videos(out, videos=200, seed=0, size=64, seconds=2.0, fps=25, gop=12,
                          test_fraction=0.3, stamp=False, workers=1, verbose=True):
    """Write ``videos`` videos and the UCF101-format split lists under ``out``; returns a
    summary dict (also stored in ``out/synthetic_videos.json``)."""
    if videos < 2 * len(CLASSES):
        raise ConfigError(f'--videos must be >= {2 * len(CLASSES)} (two per class), got {videos}')
    if size < 16 or size % 2 or fps < 1 or gop < 1 or seconds * fps < 2:
        raise ConfigError('size must be even and >= 16, fps and gop >= 1, and a video at least '
                          f'2 frames long; got {size}, {fps}, {gop}, {seconds} s')
    if not 0 < test_fraction < 1:
        raise ConfigError(f'test_fraction must be in (0, 1), got {test_fraction}')
    out, start = Path(out), time.perf_counter()
    params = dict(videos=videos, seed=seed, size=size, seconds=seconds, fps=fps, gop=gop,
                  test_fraction=test_fraction, stamp=stamp)
    _prepare(out)
    (out / MARKER).write_text(json.dumps(dict(params=params), indent=1))  # claims DIR first

    jobs = [(str(out), i, seed, size, seconds, fps, gop, stamp) for i in range(videos)]
    pool = ProcessPoolExecutor(workers) if workers > 1 else None
    written = pool.map(_write_video, jobs) if pool else map(_write_video, jobs)
    for _ in progress(written, desc='writing synthetic videos', total=videos, unit='video',
                      disable=not verbose):
        pass   # each step of the lazy map writes one video
    if pool:
        pool.shutdown()

    per_class = [(videos - c + len(CLASSES) - 1) // len(CLASSES) for c in range(len(CLASSES))]
    test_groups = [max(1, round(n * test_fraction)) for n in per_class]
    train, test = [], []
    for i in range(videos):
        label, group = i % len(CLASSES), i // len(CLASSES) + 1
        if group <= test_groups[label]:
            test.append(video_name(i))
        else:
            train.append(f'{video_name(i)} {label + 1}')
    (out / 'classInd.txt').write_text(''.join(f'{i + 1} {c}\n' for i, c in enumerate(CLASSES)))
    (out / 'trainlist01.txt').write_text(''.join(r + '\n' for r in train))
    (out / 'testlist01.txt').write_text(''.join(r + '\n' for r in test))

    seconds_total = time.perf_counter() - start
    summary = dict(out=str(out), **params, classes=list(CLASSES), train=len(train),
                   test=len(test), frames_per_video=round(fps * seconds),
                   elapsed_seconds=round(seconds_total, 2))
    (out / MARKER).write_text(json.dumps(dict(params=params, summary=summary), indent=1))
    if verbose:
        print(f'wrote {videos} videos ({len(train)} train, {len(test)} test, {len(CLASSES)} '
              f'classes) to {out} in {seconds_total:.1f} s')
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', required=True, help='output directory (DIR)')
    parser.add_argument('--videos', type=int, default=200)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--size', type=int, default=64, help='frame width and height, px')
    parser.add_argument('--seconds', type=float, default=2.0)
    parser.add_argument('--fps', type=int, default=25)
    parser.add_argument('--gop', type=int, default=12, help='frames per keyframe interval')
    parser.add_argument('--test-fraction', type=float, default=0.3)
    parser.add_argument('--stamp', action='store_true',
                        help='write each frame number into the pixels (for decoding tests)')
    parser.add_argument('--workers', type=int, default=1, help='processes generating videos')
    args = parser.parse_args(argv)
    return make_synthetic_videos(args.out, args.videos, args.seed, args.size, args.seconds,
                                 args.fps, args.gop, args.test_fraction, args.stamp, args.workers)


if __name__ == '__main__':
    from mm_ssl.engine.cli import exit_on_error
    with exit_on_error():
        main()
