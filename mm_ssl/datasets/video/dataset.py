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
import json
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from mm_ssl.errors import ConfigError, DataError
from mm_ssl.registry import DATASETS, TRANSFORMS

from ..bad_samples import SkipBadSamples
from ..sampler import sample_rng
from ..video_io import VideoReader, video_error
from .annotations import infer_format, read_annotations
from .frame_cache import FrameCache
from .index import INDEX_FILE
from .sampling import SAMPLERS, sample_clip_indices

__all__ = ['VideoDataset']


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
        entries, classes, bad = read_annotations(ann_format or infer_format(ann_file), ann,
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
