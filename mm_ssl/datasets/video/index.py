"""The video index of a collection (``data_prep/build_video_index.py``): frame count, size and
frame table of every file, or why it cannot be read, so that a run need not open every file to
know it."""
import json
import os
import time
from pathlib import Path

from mm_ssl.errors import DataError
from mm_ssl.progress import progress

from ..video_io import VIDEO_EXTENSIONS, VideoReader

__all__ = ['INDEX_FILE', 'probe_video', 'build_video_index']

INDEX_FILE = 'video_index.json'


def probe_video(path, full=False):
    """Index record of one file: frame count, fps, duration, frame size, file size and the
    reader's frame table, or the error that makes it unreadable. Checks that the first and last
    frames decode (every frame with ``full``)."""
    try:
        with VideoReader(path) as video:
            frames = range(video.num_frames) if full else [0, video.num_frames - 1]
            video.read_frames(frames)
            return dict(num_frames=video.num_frames, fps=round(video.fps, 6),
                        duration=round(video.duration, 6), width=video.width,
                        height=video.height, bytes=os.path.getsize(path),
                        frame_table=video.frame_table())
    except DataError as exc:
        return dict(error=exc.detail, reason=exc.reason)


def build_video_index(root, out=None, full=False, verbose=True):
    """Probe every video file under ``root`` (by suffix, recursively) and write the index
    ``out`` (default ``root/video_index.json``): ``{"root", "videos": {relative path: record}}``
    with records from :func:`probe_video`. Returns the index dict."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f'{root}: no such directory')
    files = sorted(p for p in root.rglob('*') if p.suffix.lower() in VIDEO_EXTENSIONS)
    videos, start, bad = {}, time.perf_counter(), 0
    bar = progress(files, desc='indexing videos', unit='video', disable=not verbose)
    for path in bar:
        rel = path.relative_to(root).as_posix()
        videos[rel] = record = probe_video(path, full)
        if 'error' in record:
            bad += 1
            bar.set_postfix(bad=bad, refresh=False)
            if verbose:
                bar.write(f'BAD: {rel}: {record["error"]}')
    index = dict(root=str(root), full_decode=full, videos=videos)
    out = Path(out) if out else root / INDEX_FILE
    out.write_text(json.dumps(index, indent=1))
    if verbose:
        print(f'indexed {len(files)} videos ({bad} unreadable) in '
              f'{time.perf_counter() - start:.1f} s -> {out}')
    return index
