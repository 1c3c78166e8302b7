"""Throughput of mm_ssl's video path: random clips (16 frames, 112 px) from 30-second videos.

Decoding: ``VideoReader`` (sorted requests, seek to the keyframe before the clip, decode forward)
against decoding from the start of the file up to the clip's last frame, for the same clips
(same videos and starts), both opening the file per clip and converting to RGB with one decoding
thread; the reader either demuxes the file on opening or takes the frame table from the video
index (``data_prep/build_video_index.py``, which the script runs). Loading: ``VideoDataset``
(with the index) and a random sampler through a DataLoader with 0 and 2 workers
(default_collate batches of 8; each process keeps its 4 most recent files open).

The videos are synthetic (``mm_ssl.datasets.synthetic_video``: 112 px, 25 fps, a keyframe every
12 frames, x264 B-frames), generated once into --data.

    python benchmarks/bench_video.py --videos 4 --clips 24 --repeats 3
"""
import argparse
import os
import time
from pathlib import Path

import av
import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler

from mm_ssl.datasets import VideoDataset, VideoReader, build_video_index, sample_clip_indices
from mm_ssl.datasets.synthetic_video import CLASSES, VideoSpec, render_video, write_video
from timing import timeit


def make_videos(root, videos, seconds, size, gop):
    """Write the benchmark videos and a UCF101-style list once; returns their paths."""
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(videos):
        path = root / f'{CLASSES[i % len(CLASSES)]}_{i:02d}_{size}px_{seconds:g}s_gop{gop}.mp4'
        if not path.is_file():
            spec = VideoSpec(label=i % len(CLASSES), width=size, height=size, seconds=seconds)
            write_video(path, render_video(spec, np.random.default_rng([0, i])), gop=gop)
        paths.append(path)
    (root / 'classInd.txt').write_text(''.join(f'{i + 1} {c}\n' for i, c in enumerate(CLASSES)))
    (root / 'trainlist01.txt').write_text(''.join(
        f'{p.name} {CLASSES.index(p.name.split("_")[0]) + 1}\n' for p in paths))
    return paths


def decode_from_start(path, indices):
    """Baseline: decode every frame from the first up to the last wanted one."""
    wanted, got = set(indices.tolist()), {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        for i, frame in enumerate(container.decode(stream)):
            if i in wanted:
                got[i] = frame.to_ndarray(format='rgb24')
            if i >= indices.max():
                break
    return np.stack([got[i] for i in indices.tolist()])


def read_with_seeks(path, indices, frame_table=None):
    with VideoReader(path, frame_table=frame_table) as video:
        return video.read_frames(indices)


def bench_decoding(paths, index, clips, clip_len, repeats):
    rng = np.random.default_rng(0)
    num_frames = VideoReader(paths[0]).num_frames
    jobs = [(paths[rng.integers(len(paths))],
             sample_clip_indices(num_frames, clip_len, rng=rng)[0]) for _ in range(clips)]
    for path, idx in jobs[:2]:  # the two decoders agree
        np.testing.assert_array_equal(read_with_seeks(path, idx), decode_from_start(path, idx))
    tables = {p: index['videos'][p.name]['frame_table'] for p in paths}
    runs = {'decode from the start': lambda: [decode_from_start(p, i) for p, i in jobs],
            'VideoReader, sorted seeks (demux on open)':
                lambda: [read_with_seeks(p, i) for p, i in jobs],
            'VideoReader, sorted seeks (frame table from the index)':
                lambda: [read_with_seeks(p, i, tables[p]) for p, i in jobs]}
    secs = {k: med for k, (med, _) in timeit(runs, repeats).items()}
    base = secs['decode from the start']
    return [dict(path=k, clips_per_s=clips / s, ms_per_clip=1e3 * s / clips, speedup=base / s)
            for k, s in secs.items()]


def bench_loader(root, clip_len, clips, workers):
    ds = VideoDataset(root, 'trainlist01.txt', clip_len=clip_len)
    sampler = RandomSampler(ds, replacement=True, num_samples=clips,
                            generator=torch.Generator().manual_seed(0))
    loader = DataLoader(ds, batch_size=8, sampler=sampler, num_workers=workers,
                        timeout=300 if workers else 0)
    start = time.perf_counter()  # includes starting the workers, as an epoch does
    n = sum(len(batch['label']) for batch in loader)
    return dict(workers=workers, clips_per_s=n / (time.perf_counter() - start))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data', default='/tmp/mm_ssl_bench_videos')
    parser.add_argument('--videos', type=int, default=4)
    parser.add_argument('--seconds', type=float, default=30.0)
    parser.add_argument('--size', type=int, default=112)
    parser.add_argument('--gop', type=int, default=12)
    parser.add_argument('--clip-len', type=int, default=16)
    parser.add_argument('--clips', type=int, default=24, help='clips per timed run')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--loader-clips', type=int, default=96)
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    paths = make_videos(Path(args.data), args.videos, args.seconds, args.size, args.gop)
    print(f'{args.videos} videos of {args.seconds:g} s, {args.size} px, keyframe every '
          f'{args.gop} frames in {args.data} ({time.perf_counter() - start:.0f} s); '
          f'load average {os.getloadavg()[0]:.1f}')

    index = build_video_index(args.data, verbose=False)
    print(f'\nRandom {args.clip_len}-frame clips, median of {args.repeats} runs of '
          f'{args.clips} clips (file opened per clip):\n')
    print('| decoder | clips/s | ms per clip | speed-up |\n|---|---:|---:|---:|')
    for r in bench_decoding(paths, index, args.clips, args.clip_len, args.repeats):
        print(f'| {r["path"]} | {r["clips_per_s"]:.1f} | {r["ms_per_clip"]:.1f} | '
              f'{r["speedup"]:.1f}x |')

    print(f'\nVideoDataset (random sampler) through a DataLoader, {args.loader_clips} clips, '
          'batches of 8, worker start-up included:\n')
    print('| workers | clips/s |\n|---:|---:|')
    for workers in (0, 2):
        r = bench_loader(Path(args.data), args.clip_len, args.loader_clips, workers)
        print(f'| {r["workers"]} | {r["clips_per_s"]:.1f} |')


if __name__ == '__main__':
    main()
