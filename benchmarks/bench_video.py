"""Throughput of mm_ssl's video path: random clips (16 frames, 112 px) from 30-second videos.

Decoding: ``VideoReader`` (sorted requests, seek to the keyframe before the clip, decode forward)
against decoding from the start of the file up to the clip's last frame, for the same clips
(same videos and starts), both opening the file per clip and converting to RGB with one decoding
thread; the reader either probes the file on every opening (demux, and a decode for the kinds
that need one), reuses the frame table it probed for the same file earlier in the process (what
a dataset without a video index gets from the second opening on) or takes the frame table from
the video index (``data_prep/build_video_index.py``, which the script runs). Loading:
``VideoDataset`` (with the index) and a random sampler through a DataLoader with 0 and 2 workers
(default_collate batches of 8; each process keeps its 4 most recent files open).

The videos are synthetic (``mm_ssl.synthetic.video``: 112 px, 25 fps, a keyframe every
12 frames, x264 B-frames), generated once into --data.

File kinds (``--only-kinds`` runs just these): the same random clips read by ``VideoReader``
(the same three ways), decord and torchcodec (when installed; optional, not requirements of
mm_ssl) from one video written as each kind of file real collections hold (``FILE_KINDS``:
edit lists, MPEG-PS open GOPs, AVI without pts, N-VOPs, VFR, VP9, HEVC, MPEG-TS), each opening
the file per clip with one decoding thread. Every frame carries its number in its pixels; a
frame is wrong when its number differs from that of the frame a plain sequential PyAV decode
shows at the requested index, and a clip fails when the library raises. ``frames`` is the count
each reports, against the sequential decode's. Speed is clips per CPU second of the process
(every decoder single-threaded), steadier than wall time on shared cores.

    python benchmarks/bench_video.py --videos 4 --clips 24 --repeats 3
    python benchmarks/bench_video.py --only-kinds --repeats 5
"""
import argparse
import importlib
import os
import time
from pathlib import Path

import av
import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler

from mm_ssl.datasets import VideoDataset, VideoReader, build_video_index, sample_clip_indices
from mm_ssl.datasets.video_io import PROBED_FRAME_TABLES
from mm_ssl.synthetic.video import (CLASSES, FILE_KINDS, VideoSpec, read_frame_number,
                                    render_video, write_file_kind, write_video)
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


def open_reader(path, frame_table=None, probe=False):
    """``VideoReader`` of ``path``; ``probe``: forget the frame tables this process probed, so
    that the reader probes the file as a first opening does."""
    if probe:
        PROBED_FRAME_TABLES.clear()
    return VideoReader(path, frame_table=frame_table)


def read_with_seeks(path, indices, frame_table=None, probe=False):
    with open_reader(path, frame_table, probe) as video:
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
            'VideoReader, sorted seeks (probe on every open)':
                lambda: [read_with_seeks(p, i, probe=True) for p, i in jobs],
            'VideoReader, sorted seeks (frame table probed earlier in the process)':
                lambda: [read_with_seeks(p, i) for p, i in jobs],
            'VideoReader, sorted seeks (frame table from the index)':
                lambda: [read_with_seeks(p, i, tables[p]) for p, i in jobs]}
    secs = {k: med for k, (med, _) in timeit(runs, repeats).items()}
    base = secs['decode from the start']
    return [dict(path=k, clips_per_s=clips / s, ms_per_clip=1e3 * s / clips, speedup=base / s)
            for k, s in secs.items()]


def mm_ssl_decoder(path, frame_table=None, probe=False):
    reader = open_reader(path, frame_table, probe)
    return reader.num_frames, reader.read_frames, reader.close


FRAME_TABLES = {}  # path -> VideoReader.frame_table(), as the video index stores it


def decord_decoder(path):
    import decord
    reader = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1)
    return len(reader), lambda indices: reader.get_batch(list(indices)).asnumpy(), lambda: None


def torchcodec_decoder(path):
    from torchcodec.decoders import VideoDecoder
    decoder = VideoDecoder(str(path), dimension_order='NHWC', num_ffmpeg_threads=1)
    return (decoder.metadata.num_frames,
            lambda indices: decoder.get_frames_at([int(i) for i in indices]).data.numpy(),
            lambda: None)


DECODERS = {'mm_ssl': mm_ssl_decoder,
            'mm_ssl, probing every open': lambda path: mm_ssl_decoder(path, probe=True),
            'mm_ssl, frame table from the index':
                lambda path: mm_ssl_decoder(path, FRAME_TABLES[path]),
            'decord': decord_decoder, 'torchcodec': torchcodec_decoder}
PEER_MODULES = {**{name: 'mm_ssl.datasets' for name in DECODERS if name.startswith('mm_ssl')},
                'decord': 'decord', 'torchcodec': 'torchcodec.decoders'}


def unavailable_reason(name):
    """None when decoder ``name`` imports (which loads its FFmpeg libraries), else why not."""
    try:
        importlib.import_module(PEER_MODULES[name])
    except Exception as exc:  # ImportError, or OSError / RuntimeError loading FFmpeg
        return f'{type(exc).__name__}: {str(exc).splitlines()[0][:80]}'
    return None


def read_clip(decoder, path, indices):
    """(frames the decoder reports, uint8 (len(indices), H, W, 3) frames), the file opened for
    the clip."""
    count, read, close = DECODERS[decoder](path)
    try:
        return count, read(indices)
    finally:
        close()


def try_clip(decoder, path, indices):
    """:func:`read_clip`, or the exception it raised: a peer's failure is a result."""
    try:
        return read_clip(decoder, path, indices)
    except Exception as exc:
        return exc


def cpu_seconds(fns, repeats):
    """Median CPU time of this process for each of ``fns`` (after one warm-up run), run
    round-robin. Every decoder runs one thread here, so CPU time is the work done, which other
    processes on shared cores inflate much less than they do wall time."""
    times = {name: [] for name in fns}
    for i in range(1 + repeats):
        for name, fn in fns.items():
            start = time.process_time()
            fn()
            if i:
                times[name].append(time.process_time() - start)
    return {name: sorted(t)[len(t) // 2] for name, t in times.items()}


def bench_file_kinds(root, seconds, size, gop, clips, clip_len, repeats):
    """Per file kind and decoder: clips per CPU second, ratio to mm_ssl, wrong frames (of those
    returned), failed clips and the frame counts it reports, on the same random clips."""
    root.mkdir(parents=True, exist_ok=True)
    frames = None
    decoders = {name: unavailable_reason(name) for name in DECODERS}
    runnable = [name for name, reason in decoders.items() if reason is None]
    rows = []
    for seed, (kind, (suffix, _)) in enumerate(FILE_KINDS.items()):
        path = root / f'{kind}_{size}px_{seconds:g}s_gop{gop}{suffix}'
        if not path.is_file():
            if frames is None:
                spec = VideoSpec(label=0, width=size, height=size, seconds=seconds)
                frames = render_video(spec, np.random.default_rng(0), stamp=True)
            write_file_kind(path, frames, kind, gop=gop)
        with av.open(str(path)) as container:  # the reference: a plain sequential decode
            container.streams.video[0].codec_context.thread_count = 1
            truth = [read_frame_number(f.to_ndarray(format='rgb24'))
                     for f in container.decode(video=0)]
        with VideoReader(path) as reader:
            FRAME_TABLES[path] = reader.frame_table()
        rng = np.random.default_rng(seed)
        jobs = [sample_clip_indices(len(truth), clip_len, rng=rng)[0] for _ in range(clips)]
        secs = cpu_seconds({name: (lambda name=name: [try_clip(name, path, i) for i in jobs])
                            for name in runnable}, repeats)
        for name, reason in decoders.items():
            row = dict(kind=kind, decoder=name, true_frames=len(truth), unavailable=reason)
            if reason is None:
                results = [(try_clip(name, path, i), i) for i in jobs]
                done = [(r, i) for r, i in results if not isinstance(r, Exception)]
                errors = [str(r).splitlines()[0][:60] for r, _ in results
                          if isinstance(r, Exception)]
                row.update(clips_per_s=clips / secs[name], ratio=secs['mm_ssl'] / secs[name],
                           wrong=sum(read_frame_number(f) != truth[j] for (_, got), i in done
                                     for f, j in zip(got, i)),
                           returned=clip_len * len(done), failed=len(errors),
                           error=errors[0] if errors else '',
                           reported=sorted({count for (count, _), _ in done}))
            rows.append(row)
    return rows


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
    parser.add_argument('--kind-seconds', type=float, default=12.0,
                        help='length of the file-kind videos')
    parser.add_argument('--kind-clips', type=int, default=16,
                        help='clips per file kind and timed run')
    parser.add_argument('--skip-kinds', action='store_true',
                        help='skip the file-kind comparison with decord and torchcodec')
    parser.add_argument('--only-kinds', action='store_true',
                        help='run only the file-kind comparison')
    args = parser.parse_args()
    torch.set_num_threads(1)
    if not args.only_kinds:
        bench_collection(args)
    if not args.skip_kinds:
        print_file_kinds(args)


def bench_collection(args):
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


def print_file_kinds(args):
    print(f'\nFile kinds ({args.kind_seconds:g} s, {args.size} px, keyframe every {args.gop} '
          f'frames): random {args.clip_len}-frame clips, median CPU time of {args.repeats} runs '
          f'of {args.kind_clips} clips (file opened per clip):\n')
    print('| file kind | decoder | clips per CPU s | x mm_ssl | wrong frames | failed clips | '
          'frames (true) |\n|---|---|---:|---:|---:|---:|---:|')
    for r in bench_file_kinds(Path(args.data) / 'file_kinds', args.kind_seconds, args.size,
                              args.gop, args.kind_clips, args.clip_len, args.repeats):
        if r['unavailable']:
            print(f'| {r["kind"]} | {r["decoder"]} | cannot run: {r["unavailable"]} | | | | |')
            continue
        reported = '/'.join(map(str, r['reported'])) or '-'
        failed = f'{r["failed"]} ({r["error"]})' if r['failed'] else '0'
        print(f'| {r["kind"]} | {r["decoder"]} | {r["clips_per_s"]:.1f} | {r["ratio"]:.2f}x | '
              f'{r["wrong"]}/{r["returned"]} | {failed} | {reported} ({r["true_frames"]}) |')


if __name__ == '__main__':
    main()
