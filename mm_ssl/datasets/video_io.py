"""Frame-exact random access into video files with PyAV, with as few seeks as possible.

Frames are numbered 0..num_frames-1 in presentation order (by pts). On opening, the reader demuxes
the video stream once without decoding (milliseconds: packet headers and sizes only) to learn
every frame's pts and which frames are keyframes. ``read_frames`` then sorts the wanted frames,
seeks to the keyframe at or before the first one and decodes forward, seeking again only when
the next wanted frame lies beyond the next keyframe, i.e. when the seek skips decoding work.
Random clips are cheap this way; decoding from the start of the file costs half the video per
clip on average (see ``benchmarks/bench_video.py``).

Example::

    with VideoReader('v_Run_g01_c01.mp4', short_side=112) as video:
        clip = video.read_frames([40, 42, 44, 46])     # uint8 (4, 112, W, 3), RGB
"""
import bisect
import os

import av
import numpy as np

from mm_ssl.errors import DataError

__all__ = ['VideoReader', 'video_error', 'VIDEO_EXTENSIONS']

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mkv', '.webm', '.mov', '.m4v', '.mpg', '.mpeg')
# PyAV raises its FFmpegError subclasses for bad data, OSError for files, and a few plain
# ValueError / IndexError from its own checks; all mean "this file cannot be read".
_DECODE_ERRORS = (av.FFmpegError, OSError, ValueError, IndexError, EOFError)


def video_error(path, reason, detail):
    """A :class:`DataError` whose message is ``path: detail``, with attributes ``path``,
    ``detail`` and ``reason``, a short category (``'missing'``, ``'unreadable'``,
    ``'no_video_stream'``, ``'too_short'``, ``'bad_entry'``) that datasets count skips by."""
    exc = DataError(f'{path}: {detail}')
    exc.path, exc.detail, exc.reason = str(path), detail, reason
    return exc


class VideoReader:
    """Random access to the frames of one video file.

    Args:
        path: video file (any container / codec FFmpeg reads).
        short_side: resize decoded frames so that their shorter side is this many pixels
            (bilinear, aspect ratio kept, done by libswscale while converting to RGB so that
            full-size frames are never held); None keeps the stored size.

    Attributes:
        num_frames, fps, duration (seconds), width, height (of returned frames).
        keyframes: sorted frame indices of the keyframes.
        seeks, decoded: running counts of seeks and decoded frames (for tests and benchmarks).

    ``frame_table``: the :meth:`frame_table` of an earlier reader of the same, unchanged file
    (a video index stores it), which saves the demux pass on opening.

    Raises:
        DataError: naming the file, when it is missing, cannot be opened or demuxed (corrupt or
            truncated), or holds no video stream. Its ``reason`` attribute is a category.
    """

    def __init__(self, path, short_side=None, frame_table=None):
        self.path = str(path)
        if not os.path.isfile(self.path):
            raise video_error(self.path, 'missing', 'missing file')
        try:
            self._container = av.open(self.path)
        except _DECODE_ERRORS as exc:
            raise video_error(self.path, 'unreadable', f'cannot open as a video ({exc})') from exc
        try:
            if not self._container.streams.video:
                raise video_error(self.path, 'no_video_stream', 'holds no video stream')
            self._stream = self._container.streams.video[0]
            # one decoding thread: DataLoader workers are the parallelism, and a forked worker
            # that frees an inherited reader would wait forever on its parent's thread pool
            self._stream.codec_context.thread_count = 1
            self._set_frames(*(self._demux() if frame_table is None else
                               self._unpack(frame_table)))
        except BaseException:
            self._container.close()
            raise
        self._set_output_size(short_side)
        self.seeks = self.decoded = 0

    def _demux(self):
        """pts of every frame in presentation order, and the keyframes, from one demux pass."""
        try:
            packets = [(p.pts, p.is_keyframe) for p in self._container.demux(self._stream)
                       if p.pts is not None]
            self._container.seek(0, backward=True, any_frame=False, stream=self._stream)
        except _DECODE_ERRORS as exc:
            raise video_error(self.path, 'unreadable',
                              f'corrupt or truncated video stream ({exc})') from exc
        packets.sort()
        return [pts for pts, _ in packets], [i for i, (_, key) in enumerate(packets) if key]

    def frame_table(self):
        """What the demux pass learnt, JSON-ready and compact (pts as start + step when evenly
        spaced), for a video index to hand to later readers of the same file."""
        steps = np.unique(np.diff(self.pts))
        pts = dict(start=int(self.pts[0]), step=int(steps[0]) if len(steps) else 1,
                   count=self.num_frames) if len(steps) <= 1 else self.pts.tolist()
        return dict(pts=pts, keyframes=list(self.keyframes))

    @staticmethod
    def _unpack(table):
        pts = table['pts']
        if isinstance(pts, dict):
            pts = pts['start'] + pts['step'] * np.arange(pts['count'])
        return pts, table['keyframes']

    def _set_frames(self, pts, keyframes):
        if not len(pts):
            raise video_error(self.path, 'unreadable', 'video stream holds no frames')
        self.pts = np.asarray(pts, dtype=np.int64)
        self._frame_of_pts = {int(p): i for i, p in enumerate(self.pts)}
        self.keyframes = list(keyframes) or [0]
        self.num_frames = len(self.pts)
        rate = self._stream.average_rate or self._stream.guessed_rate
        tb = self._stream.time_base
        span = float((self.pts[-1] - self.pts[0]) * tb) if self.num_frames > 1 else 0.0
        self.fps = float(rate) if rate else (self.num_frames - 1) / span if span else 0.0
        self.duration = self.num_frames / self.fps if self.fps else span

    def _set_output_size(self, short_side):
        w, h = self._stream.codec_context.width, self._stream.codec_context.height
        if not w or not h:
            raise video_error(self.path, 'unreadable', 'video stream has no frame size')
        if short_side:
            scale = short_side / min(w, h)
            w, h = (short_side, round(h * scale)) if w <= h else (round(w * scale), short_side)
        self.width, self.height = w, h
        self._resize = (w, h) != (self._stream.codec_context.width,
                                  self._stream.codec_context.height)

    def __len__(self):
        return self.num_frames

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._container.close()

    def _keyframe_before(self, index):
        return self.keyframes[bisect.bisect_right(self.keyframes, index) - 1]

    def _decode_from(self, keyframe):
        """Seek to ``keyframe`` and yield (frame index, av.VideoFrame) in presentation order."""
        self._container.seek(int(self.pts[keyframe]), backward=True, any_frame=False,
                             stream=self._stream)
        self.seeks += 1
        for frame in self._container.decode(self._stream):
            self.decoded += 1
            index = self._frame_of_pts.get(frame.pts)
            if index is not None and index >= keyframe:  # not leading frames of an open GOP
                yield index, frame

    def _to_rgb(self, frame):
        if self._resize:
            return frame.to_ndarray(format='rgb24', width=self.width, height=self.height,
                                    interpolation='BILINEAR')
        return frame.to_ndarray(format='rgb24')

    def read_frames(self, indices):
        """Frames ``indices`` (any order, repeats allowed) as uint8 (len(indices), H, W, 3) RGB.

        Raises:
            DataError: an index outside 0..num_frames-1, or frames the file fails to decode.
        """
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if indices.size and (indices.min() < 0 or indices.max() >= self.num_frames):
            raise video_error(self.path, 'too_short',
                              f'frames {indices.min()}..{indices.max()} requested, the file has '
                              f'{self.num_frames}')
        wanted = np.unique(indices).tolist()
        wanted_set = set(wanted)
        got, frames, position = {}, None, -1  # position: index of the last decoded frame
        try:
            for target in wanted:
                if target in got:
                    continue
                keyframe = self._keyframe_before(target)
                # seek when it skips frames (keyframe beyond the next one to decode) or goes back
                if frames is None or target <= position or keyframe > position + 1:
                    frames = self._decode_from(keyframe)
                for position, frame in frames:
                    if position in wanted_set:
                        got[position] = self._to_rgb(frame)
                    if position >= target:
                        break
                if target not in got:  # a seek that landed late, or frames missing in the file
                    got.update(self._decode_fallback(target, wanted_set))
        except _DECODE_ERRORS as exc:
            raise video_error(self.path, 'unreadable', f'cannot decode frames ({exc})') from exc
        if not indices.size:
            return np.zeros((0, self.height, self.width, 3), np.uint8)
        return np.stack([got[i] for i in indices.tolist()])

    def _decode_fallback(self, target, wanted):
        """Decode from the start of the file up to ``target``, for streams whose seeks are not
        exact; raises if the frame never comes out of the decoder."""
        got = {}
        for index, frame in self._decode_from(0):
            if index in wanted:
                got[index] = self._to_rgb(frame)
            if index >= target:
                break
        if target not in got:
            raise video_error(self.path, 'unreadable',
                              f'frame {target} of {self.num_frames} does not decode (corrupt or '
                              'truncated stream)')
        return got
