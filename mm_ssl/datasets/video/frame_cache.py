"""Decoded frames kept for reuse: in memory (LRU) and / or as files."""
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PIL import Image

from mm_ssl.errors import ConfigError

__all__ = ['FrameCache']


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
