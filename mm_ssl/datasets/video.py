"""Video classification collections (UCF101, HMDB51, Kinetics-style CSV) as clips of decoded
frames, for video self-supervision and its evaluation.

Videos are listed by the official annotation files, read from ``data_root/video_dir`` with
:class:`~mm_ssl.datasets.video_io.VideoReader` (sorted frame requests, few seeks), optionally
through a :class:`FrameCache`. A video index written by ``data_prep/build_video_index.py``
(``data_root/video_index.json`` by default) gives frame counts without opening files and marks
undecodable ones, so a run does not probe every file at start.

Example (the synthetic default)::

    dataset = dict(type='VideoDataset', data_root='data/synthetic_videos',
                   ann_file='trainlist01.txt', clip_len=16, frame_interval=2)
    sample = DATASETS.build(dataset)[0]   # clip: uint8 (16, 64, 64, 3)
"""
import csv
import json
import os
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from mm_ssl.errors import ConfigError, DataError
from mm_ssl.progress import progress
from mm_ssl.registry import DATASETS, TRANSFORMS

from .bad_samples import SkipBadSamples
from .sampler import sample_rng
from .text_io import read_text
from .video_io import VIDEO_EXTENSIONS, VideoReader, video_error

__all__ = ['VideoDataset', 'FrameCache', 'sample_clip_indices', 'read_annotations',
           'build_video_index', 'INDEX_FILE']

INDEX_FILE = 'video_index.json'
SAMPLERS = ('random', 'uniform', 'dense')


def sample_clip_indices(num_frames, clip_len, frame_interval=1, num_clips=1, mode='random',
                        rng=None, dense_gap=None):
    """Frame indices of ``num_clips`` clips of ``clip_len`` frames, ``frame_interval`` apart.

    Modes:
        random: each clip starts uniformly at random (training).
        uniform: starts evenly spaced from the first to the last possible one, so the clips
            cover the video (evaluation: N clips per video, deterministic).
        dense: ``num_clips`` clips in a row, each starting ``dense_gap`` frames (default: the
            clip's span, i.e. adjacent clips) after the previous one, the run at a random start.

    Raises:
        ValueError: the video is shorter than what the clips span.

    Shape:
        Output: (num_clips, clip_len) int64, each row increasing.
    """
    if mode not in SAMPLERS:
        raise ConfigError(f'sampler must be one of {SAMPLERS}, got {mode!r}')
    rng = np.random.default_rng() if rng is None else rng
    span = (clip_len - 1) * frame_interval + 1
    gap = span if dense_gap is None else dense_gap
    needed = span + (num_clips - 1) * gap if mode == 'dense' else span
    if num_frames < needed:
        raise ValueError(f'{num_frames} frames, shorter than the {needed} that {num_clips} '
                         f'{mode} clip(s) of {clip_len} frames at interval {frame_interval} span')
    if mode == 'random':
        starts = rng.integers(0, num_frames - span + 1, num_clips)
    elif mode == 'uniform':
        starts = np.round(np.linspace(0, num_frames - span, num_clips)).astype(np.int64)
    else:
        starts = rng.integers(0, num_frames - needed + 1) + gap * np.arange(num_clips)
    return starts[:, None] + frame_interval * np.arange(clip_len)


class FrameCache:
    """Decoded frames kept for datasets that are read many times: an in-memory LRU of up to
    ``memory_frames`` frames (per process: each DataLoader worker holds its own) and/or files
    under ``cache_dir`` shared by workers and runs, ``<video>/<frame>.npy`` (exact) or ``.jpg``
    (``jpeg_quality``, ~10x smaller, lossy). Keys name the video and the decoded size, so caches
    of different ``short_side`` do not mix.
    """

    def __init__(self, memory_frames=0, cache_dir=None, format='npy', jpeg_quality=90):
        if format not in ('npy', 'jpg'):
            raise ConfigError(f"FrameCache: format must be 'npy' or 'jpg', got {format!r}")
        self.memory_frames, self.format, self.jpeg_quality = memory_frames, format, jpeg_quality
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else None
        self._memory = OrderedDict()
        self.hits = self.misses = 0

    def _file(self, video, index):
        return self.cache_dir / video / f'{index:06d}.{self.format}'

    def get(self, video, index):
        """The frame, or None if it is not cached."""
        frame = self._memory.get((video, index))
        if frame is not None:
            self._memory.move_to_end((video, index))
        elif self.cache_dir is not None and self._file(video, index).is_file():
            path = self._file(video, index)
            try:
                frame = np.load(path) if self.format == 'npy' else np.asarray(Image.open(path))
            except (OSError, ValueError):  # a half-written file of a killed run: decode again
                frame = None
            if frame is not None:
                self._remember(video, index, frame)
        self.hits += frame is not None
        self.misses += frame is None
        return frame

    def put(self, video, index, frame):
        self._remember(video, index, frame)
        if self.cache_dir is not None:
            path = self._file(video, index)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f'.{path.name}.{os.getpid()}')
            if self.format == 'npy':
                with open(tmp, 'wb') as f:
                    np.save(f, frame)
            else:
                Image.fromarray(frame).save(tmp, format='JPEG', quality=self.jpeg_quality)
            os.replace(tmp, path)  # atomic: other workers see a whole file or none

    def _remember(self, video, index, frame):
        if self.memory_frames > 0:
            self._memory[(video, index)] = frame
            self._memory.move_to_end((video, index))
            while len(self._memory) > self.memory_frames:
                self._memory.popitem(last=False)


def _bad_entry(ann, line_no, detail):
    return video_error(f'{ann}:{line_no}', 'bad_entry', detail)


def _read_lines(path):
    if not path.is_file():
        raise DataError(f'{path}: missing annotation file')
    return [(i, line.strip()) for i, line in enumerate(read_text(path).splitlines(), 1)
            if line.strip()]


def read_annotations(ann_format, ann_path, split=None, fold=1, classes=None,
                     name_template='{label}/{youtube_id}_{time_start:06d}_{time_end:06d}.mp4'):
    """Parse an official annotation file into ``(entries, classes, bad)``.

    ``entries`` are ``(video path relative to the video folder, label index or -1)``; ``bad``
    are the :class:`DataError` of unreadable lines (each naming ``file:line``), for the caller
    to raise or skip.

    Formats:
        ucf101: ``ann_path`` is ``trainlist0N.txt`` (``path label``, label 1-based) or
            ``testlist0N.txt`` (``path``; the label comes from the folder name), with
            ``classInd.txt`` (``index name``) beside it.
        hmdb51: ``ann_path`` is the folder of ``<class>_test_split<fold>.txt`` files
            (``video tag``; tag 1 = train, 2 = test, 0 = unused); ``split`` picks the tag;
            videos are ``<class>/<video>``.
        kinetics: a CSV with columns ``label,youtube_id,time_start,time_end,split`` (``label``
            may be missing in test CSVs); rows whose ``split`` differs from ``split`` (when
            given) are left out; paths follow ``name_template``; classes are the sorted labels
            unless ``classes`` (a list or a file with one name a line) fixes them.
    """
    ann_path, bad, entries = Path(ann_path), [], []
    if ann_format == 'ucf101':
        class_file = ann_path.parent / 'classInd.txt'
        class_lines = _read_lines(class_file)
        try:
            ordered = sorted((int(i), name) for _, (i, name) in
                             ((n, line.split()) for n, line in class_lines))
        except ValueError as exc:
            raise DataError(f'{class_file}: not a UCF101 classInd.txt ("index name" lines): '
                            f'{exc}') from exc
        classes = [name for _, name in ordered]
        for n, line in _read_lines(ann_path):
            fields = line.split()
            folder = fields[0].split('/')[0]
            if len(fields) == 2 and fields[1].isdigit() and 1 <= int(fields[1]) <= len(classes):
                entries.append((fields[0], int(fields[1]) - 1))
            elif len(fields) == 1 and folder in classes and '/' in fields[0]:
                entries.append((fields[0], classes.index(folder)))
            else:
                bad.append(_bad_entry(ann_path, n, f'expected "<Class>/<video> [1..'
                                      f'{len(classes)}]", got {line!r}'))
    elif ann_format == 'hmdb51':
        tags = dict(train='1', test='2', unused='0')
        if split not in tags:
            raise ConfigError(f"hmdb51 annotations need split 'train', 'test' or 'unused', "
                              f'got {split!r}')
        files = sorted(ann_path.glob(f'*_test_split{fold}.txt'))
        if not files:
            raise DataError(f'{ann_path}: no *_test_split{fold}.txt files (expected the folder '
                            'of HMDB51 split files, e.g. testTrainMulti_7030_splits)')
        classes = [f.name[:-len(f'_test_split{fold}.txt')] for f in files]
        for label, f in enumerate(files):
            for n, line in _read_lines(f):
                fields = line.split()
                if len(fields) != 2 or fields[1] not in tags.values():
                    bad.append(_bad_entry(f, n, f'expected "<video> 0|1|2", got {line!r}'))
                elif fields[1] == tags[split]:
                    entries.append((f'{classes[label]}/{fields[0]}', label))
    elif ann_format == 'kinetics':
        rows = _read_lines(ann_path)
        header = [c.strip() for c in next(csv.reader([rows[0][1]]))] if rows else []
        if not {'youtube_id', 'time_start', 'time_end'} <= set(header):
            raise DataError(f'{ann_path}: not a Kinetics CSV (header must name youtube_id, '
                            f'time_start, time_end; got {header})')
        records = []
        for n, line in rows[1:]:
            values = next(csv.reader([line]))
            if len(values) != len(header):
                bad.append(_bad_entry(ann_path, n, f'{len(values)} fields, the header has '
                                      f'{len(header)}: {line!r}'))
                continue
            row = dict(zip(header, (v.strip() for v in values)))
            if split is None or row.get('split', split) == split:
                records.append((n, row))
        if isinstance(classes, (str, Path)):
            classes = [c for _, c in _read_lines(Path(classes))]
        classes = list(classes) if classes is not None else sorted(
            {row['label'] for _, row in records if row.get('label')})
        for n, row in records:
            try:
                name = name_template.format(**dict(
                    row, time_start=int(float(row['time_start'])),
                    time_end=int(float(row['time_end']))))
            except (KeyError, ValueError) as exc:
                bad.append(_bad_entry(ann_path, n, f'cannot make a file name from {row} '
                                      f'({exc!r})'))
                continue
            label = row.get('label')
            if label and label not in classes:
                bad.append(_bad_entry(ann_path, n, f'label {label!r} is not among the classes'))
                continue
            entries.append((name, classes.index(label) if label else -1))
    else:
        raise ConfigError(f"ann_format must be 'ucf101', 'hmdb51' or 'kinetics', "
                          f'got {ann_format!r}')
    return entries, classes, bad


def _infer_format(ann_file):
    name = Path(ann_file).name
    if name.endswith('.csv'):
        return 'kinetics'
    if name.startswith(('trainlist', 'testlist')):
        return 'ucf101'
    raise ConfigError(f'{ann_file}: cannot tell the annotation format from the name; set '
                      "ann_format='ucf101', 'hmdb51' or 'kinetics'")


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


@DATASETS.register_module()
class VideoDataset(SkipBadSamples, Dataset):
    """Clips of the videos an official annotation file lists.

    Args:
        data_root: folder holding the annotations (relative paths start here).
        ann_file: ``trainlist0N.txt`` / ``testlist0N.txt`` (UCF101), the folder of HMDB51
            split files, or a Kinetics CSV; see :func:`read_annotations`.
        ann_format: ``'ucf101'``, ``'hmdb51'``, ``'kinetics'``; None infers it from ``ann_file``.
        split, fold, classes, name_template: passed to :func:`read_annotations`.
        video_dir: folder of the videos, relative to ``data_root`` (default ``data_root``).
        clip_len, frame_interval, num_clips, sampler, dense_gap: see
            :func:`sample_clip_indices`. ``sampler`` may also be a callable
            ``(num_frames, rng) -> indices`` (an int array (T,) or (N, T)) or
            ``-> dict(frame_indices=..., **extra)`` whose extra keys join the sample, for
            task-specific frame tuples; it raises ValueError for a video too short for it.
        short_side: resize decoded frames to this shorter side (None: stored size).
        index_file: video index relative to ``data_root``, used when it exists
            (``data_prep/build_video_index.py`` writes it); None never reads one.
        frame_cache: None or :class:`FrameCache` kwargs (``memory_frames``, ``cache_dir``,
            ``format``).
        pipeline: callables (or TRANSFORMS configs) applied in turn to the sample dict.
        on_bad_sample: ``'raise'`` a :class:`DataError` naming the file, or ``'skip'``: log
            it, count it and return the next good video instead.
        max_open_readers: open files kept per process, so clips of recently read videos do not
            demux again.

    Attributes:
        videos: paths relative to the video folder; labels: (N,) int64 (-1: unlabelled);
        metainfo: ``dict(classes=[...])``; num_classes.
        skipped, skip_reasons: file (or ``annotation:line``) -> message and the count per
            category (``missing``, ``unreadable``, ``no_video_stream``, ``too_short``,
            ``bad_entry``), see :class:`SkipBadSamples`; samples also carry ``skipped``.

    A sample is ``dict(clip, frame_indices, label, video_idx, path, skipped)``: ``clip`` uint8
    (T, H, W, 3), or (N, T, H, W, 3) when ``num_clips > 1`` (or a callable sampler returns
    (N, T) indices); ``frame_indices`` int64 (T,) or (N, T); ``skipped`` the messages of the
    videos skipped to produce it, newline-joined ('' normally).
    """

    def __init__(self, data_root, ann_file='trainlist01.txt', ann_format=None, split=None,
                 fold=1, classes=None,
                 name_template='{label}/{youtube_id}_{time_start:06d}_{time_end:06d}.mp4',
                 video_dir='', clip_len=16, frame_interval=1, num_clips=1, sampler='random',
                 dense_gap=None, short_side=None, index_file=INDEX_FILE, frame_cache=None,
                 pipeline=None, on_bad_sample='raise', max_open_readers=4):
        self.init_bad_samples(on_bad_sample)
        if not callable(sampler) and sampler not in SAMPLERS:
            raise ConfigError(f'VideoDataset: sampler must be one of {SAMPLERS} or a callable, '
                              f'got {sampler!r}')
        if clip_len < 1 or frame_interval < 1 or num_clips < 1:
            raise ConfigError('VideoDataset: clip_len, frame_interval and num_clips must be >= 1, '
                              f'got {clip_len}, {frame_interval}, {num_clips}')
        self.root = Path(data_root).expanduser()
        self.video_root = self.root / video_dir
        self.short_side = short_side
        self.clip_len, self.frame_interval, self.num_clips = clip_len, frame_interval, num_clips
        self.sampler, self.dense_gap = sampler, dense_gap
        ann = self.bad_samples_source = self.root / ann_file
        entries, classes, bad = read_annotations(ann_format or _infer_format(ann_file), ann,
                                                 split, fold, classes, name_template)
        for exc in bad:
            self.record_skip(exc)
        self.metainfo = dict(classes=list(classes))
        self.num_classes = len(classes)
        self.index = self._load_index(index_file)
        for rel, _ in entries:
            record = self.index.get(rel)
            if record is not None and 'error' in record:
                self.record_skip(video_error(self.video_root / rel, record['reason'],
                                       f'{record["error"]} (marked in the video index)'))
        entries = [e for e in entries if str(self.video_root / e[0]) not in self.skipped]
        if not entries:
            raise DataError(f'{ann}: lists no readable video' + (
                f' ({len(self.skipped)} skipped, see dataset.skipped)' if self.skipped else ''))
        self.videos = [rel for rel, _ in entries]
        self.labels = torch.tensor([label for _, label in entries], dtype=torch.long)
        if not isinstance(pipeline, (list, tuple)):
            pipeline = [] if pipeline is None else [pipeline]
        self.pipeline = [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]
        self.frame_cache = FrameCache(**frame_cache) if isinstance(frame_cache, dict) \
            else frame_cache
        self.max_open_readers = max_open_readers
        self._readers, self._readers_pid = OrderedDict(), os.getpid()

    def _load_index(self, index_file):
        path = self.root / index_file if index_file else None
        if path is None or not path.is_file():
            return {}
        try:
            return json.loads(path.read_text())['videos']
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f'{path}: not a video index ({exc!r}); rebuild it with '
                            f'data_prep/build_video_index.py --root {self.video_root}') from exc

    sample_noun = 'video'

    def __len__(self):
        return len(self.videos)

    def __getstate__(self):  # open files stay in the process that opened them
        return dict(self.__dict__, _readers=OrderedDict())

    def path(self, video_idx):
        return self.video_root / self.videos[video_idx]

    def reader(self, video_idx):
        """The open :class:`VideoReader` of a video (kept in a small per-process LRU)."""
        if self._readers_pid != os.getpid():  # a forked worker must not share file offsets
            self._readers, self._readers_pid = OrderedDict(), os.getpid()
        reader = self._readers.pop(video_idx, None)
        if reader is None:
            path, record = self.path(video_idx), self.index.get(self.videos[video_idx], {})
            table = record.get('frame_table') if path.is_file() and \
                record.get('bytes') == path.stat().st_size else None  # else the file changed
            reader = VideoReader(path, self.short_side, table)
            while len(self._readers) >= self.max_open_readers:
                self._readers.popitem(last=False)[1].close()
        self._readers[video_idx] = reader
        return reader

    def num_frames(self, video_idx):
        """Frame count, from the index when it has the video (no file is opened)."""
        record = self.index.get(self.videos[video_idx])
        return record['num_frames'] if record else self.reader(video_idx).num_frames

    def read_frames(self, video_idx, indices):
        """uint8 (len(indices), H, W, 3) frames of a video through the frame cache: any order,
        repeats allowed. Raises DataError naming the file."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        cache = self.frame_cache
        if cache is None:
            return self.reader(video_idx).read_frames(indices)
        key = f'{self.videos[video_idx]}@{self.short_side or "full"}'
        frames = {i: cache.get(key, i) for i in np.unique(indices).tolist()}
        missing = [i for i, f in frames.items() if f is None]
        if missing:
            for i, frame in zip(missing, self.reader(video_idx).read_frames(missing)):
                cache.put(key, i, frame)
                frames[i] = frame
        return np.stack([frames[i] for i in indices.tolist()])

    def pick_frames(self, video_idx, num_frames, rng):
        """The sampler's pick among the ``num_frames`` frames of video ``video_idx``: indices,
        or a dict of them and extra keys; ValueError when the video is too short for it."""
        if callable(self.sampler):
            return self.sampler(num_frames, rng)
        picked = sample_clip_indices(num_frames, self.clip_len, self.frame_interval,
                                     self.num_clips, self.sampler, rng, self.dense_gap)
        return picked[0] if self.num_clips == 1 else picked

    def sample_indices(self, video_idx, rng=None):
        """The frame indices (and any extra keys) the sampler picks for a video."""
        rng = np.random.default_rng(torch.randint(2**62, ()).item()) if rng is None else rng
        try:
            picked = self.pick_frames(video_idx, self.num_frames(video_idx), rng)
        except ValueError as exc:
            raise video_error(self.path(video_idx), 'too_short', str(exc)) from exc
        picked = picked if isinstance(picked, dict) else dict(frame_indices=picked)
        picked['frame_indices'] = torch.as_tensor(np.asarray(picked['frame_indices']),
                                                  dtype=torch.long)
        return picked

    def load(self, video_idx):
        """Sample ``video_idx`` before the pipeline; raises DataError for a bad video."""
        sample = self.sample_indices(video_idx)
        indices = sample['frame_indices']
        frames = self.read_frames(video_idx, indices.reshape(-1).numpy())
        sample.update(clip=torch.from_numpy(frames).view(*indices.shape, *frames.shape[1:]),
                      label=int(self.labels[video_idx]), video_idx=video_idx,
                      path=str(self.path(video_idx)))
        return sample

    def __getitem__(self, i):
        with sample_rng(i):  # clip sampling and augmentation per sample (SeededSampler)
            return self.next_good_sample(i)

    def sample_key(self, i):
        return self.path(i)
