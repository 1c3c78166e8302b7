"""Frame-exact random access into video files with PyAV, with as few seeks as possible.

Frame ``i`` is the ``i``-th frame a plain sequential decode of the file shows
(``container.decode(video=0)``), and ``num_frames`` is how many it shows. Frames FFmpeg discards
are no frames: packets an MP4 edit list hides (``packet.is_discard``, the leading frames of a
file cut by stream copy) and the leading pictures of an open GOP at the start of a stream, which
the decoder drops because their references lie before the file (MPEG-2 B-frames, HEVC RASL).

On opening, the reader demuxes the video stream once without decoding (milliseconds: packet
headers only) and builds a frame table: the timestamp that identifies each frame, in
presentation order, and the keyframes. ``read_frames`` sorts the wanted frames, seeks to the
keyframe at or before the first one and decodes forward, seeking again only when the next
wanted frame lies beyond the next keyframe, i.e. when the seek skips decoding work. Random clips
are cheap this way; decoding from the start of the file costs half the video per clip on average
(see ``benchmarks/bench_video.py``).

Which timestamp identifies a frame:

- ``pts`` (MP4, MKV, WebM, MPEG-TS/PS, and AVI streams without reordering or whose reordering
  FFmpeg's parser worked out): frames are the shown packets sorted by pts. When the first GOP
  may lose pictures (shown packets before the first keyframe, or after it with a smaller pts
  or none: Matroska stores no timestamps for the leading pictures of an HEVC stream cut at a
  CRA), the reader decodes that GOP once on opening to see which ones the decoder shows.
- ``dts``, where the pts cannot name the frames: AVI stores no presentation timestamps, and for
  H.264 / HEVC with B-frames FFmpeg reports pts = dts + 1, in decode order; MPEG-4 Part 2 N-VOPs
  (packets of a few bytes: frames DivX / XviD dropped) show no frame; pts may be missing or
  repeated. The reader decodes the whole file once on opening, with each packet's pts set to
  its dts, and numbers the frames in the order they come out; a decoded frame's pts then names
  its packet, after any seek. MPEG-4 Part 2 without B-VOPs shows its frames in decode order,
  so there only the GOPs that hold an N-VOP-sized packet are decoded.
- sequential, where the dts do not tell the frames apart either: every read counts the frames
  from the start of the file.

A video index stores the frame table (:meth:`frame_table`), so these decodes on opening happen
once per file; without one, once per file and process (:data:`PROBED_FRAME_TABLES`). What the
packets cannot reveal is a frame the decoder drops silently in the middle of a stream (a packet
that holds no picture although the container lists it as a frame): reads that decode past it
find out (below), reads beyond it cannot; ``build_video_index(full=True)`` decodes every frame
once and marks such files unreadable.

Every read checks where a seek landed: after seeking for keyframe ``k``, frames before ``k``
(an earlier GOP, open-GOP leading pictures, frames whose timestamps an MPEG-PS demuxer made up
after the seek) are skipped, the first frame from ``k`` on must be ``k`` itself and a keyframe,
and each later one the next frame of the table. A seek that lands late (MPEG-TS/PS seek by a
byte search on clock references, which run ahead of the pts by the muxer's delay) is retried
earlier by twice the miss, which the reader keeps for later seeks; failing that, and on any
other mismatch, the file is reopened and decoded from its first packet, which is the sequential
decode itself. If even that disagrees with the table, the frames are renumbered by decode order
as above, and a file whose frame count then differs from the one reported raises
:class:`DataError` rather than return a wrong frame.

Example::

    with VideoReader('v_Run_g01_c01.mp4', short_side=112) as video:
        clip = video.read_frames([40, 42, 44, 46])     # uint8 (4, 112, W, 3), RGB
"""
import bisect
import os
import stat
import threading
from collections import OrderedDict

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from mm_ssl.errors import DataError

__all__ = ['VideoReader', 'video_error', 'VIDEO_EXTENSIONS', 'PROBED_FRAME_TABLES']

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mkv', '.webm', '.mov', '.m4v', '.mpg', '.mpeg')
# PyAV raises its FFmpegError subclasses for bad data, OSError for files, and a few plain
# ValueError / IndexError from its own checks; all mean "this file cannot be read".
_DECODE_ERRORS = (av.FFmpegError, OSError, ValueError, IndexError, EOFError)
# containers that store no presentation timestamps: FFmpeg derives pts from the decode order
_NO_PTS_FORMATS = ('avi',)
# MPEG-4 Part 2 packets this small hold no picture: N-VOPs (vop_coded = 0: a start code and 2-3
# header bytes), which DivX / XviD write for dropped frames and after packed B-frames, and which
# the decoder shows no frame for; a coded VOP needs a longer header and a bit per macroblock
_NOT_CODED_BYTES = 16
# codecs whose keyframes are IRAP pictures (HEVC: IDR, CRA, BLA), which every picture before
# them in decode order precedes in output order
_IRAP_KEYFRAME_CODECS = ('hevc',)


def video_error(path, reason, detail):
    """A :class:`DataError` whose message is ``path: detail``, with attributes ``path``,
    ``detail`` and ``reason``, a short category (``'missing'``, ``'unreadable'``,
    ``'no_video_stream'``, ``'too_short'``, ``'bad_entry'``) that datasets count skips by."""
    exc = DataError(f'{path}: {detail}')
    exc.path, exc.detail, exc.reason = str(path), detail, reason
    return exc


class _Mismatch(Exception):
    """Decoded frames disagree with the frame table; ``late`` when a seek landed past the
    wanted keyframe (by ``miss``, in stream time base units)."""

    def __init__(self, detail, late=False, miss=0):
        super().__init__(detail)
        self.late, self.miss = late, miss


class _ProbedFrameTables:
    """Frame tables this process learnt by probing files, by file identity (device, inode, size,
    modification time): a dataset without a video index reopens the files its few open readers
    let go, and the probe costs a whole-file decode for some kinds. Least recently used out
    first beyond ``max_files``; DataLoader workers inherit the parent's at fork."""

    def __init__(self, max_files):
        self.max_files = max_files
        self._tables = OrderedDict()
        self._lock = threading.Lock()

    def get(self, identity):
        with self._lock:
            table = self._tables.get(identity)
            if table is not None:
                self._tables.move_to_end(identity)
            return table

    def put(self, identity, table):
        with self._lock:
            self._tables[identity] = table
            self._tables.move_to_end(identity)
            while len(self._tables) > self.max_files:
                self._tables.popitem(last=False)

    def clear(self):
        with self._lock:
            self._tables.clear()


PROBED_FRAME_TABLES = _ProbedFrameTables(max_files=4096)


class VideoReader:
    """Random access to the frames of one video file.

    Args:
        path: video file (any container / codec FFmpeg reads).
        short_side: resize decoded frames so that their shorter side is this many pixels
            (bilinear, aspect ratio kept, done by libswscale while converting to RGB so that
            full-size frames are never held); None keeps the stored size.

    Attributes:
        num_frames, fps, duration (seconds), width, height (of returned frames).
        keyframes: sorted frame indices where decoding may start: the keyframes, and frame 0
            when it is none (a seek to it lands on a keyframe an edit list hides, or decoding
            starts from the first packet).
        pts: int64 (num_frames,) timestamps that name the frames (pts, or dts where
            ``frame_table()['timestamps'] == 'dts'``); None where only decoding from the start
            numbers the frames.
        seeks, decoded: running counts of seeks and decoded frames (for tests and benchmarks).

    ``frame_table``: the :meth:`frame_table` of an earlier reader of the same, unchanged file
    (a video index stores it), which saves the demux pass on opening. Without it, the reader
    takes the table an earlier reader in this process probed for the file if it is unchanged
    (:data:`PROBED_FRAME_TABLES`), else probes it.

    Raises:
        DataError: naming the file, when it is missing, cannot be opened or demuxed (corrupt or
            truncated), or holds no video stream. Its ``reason`` attribute is a category.
    """

    def __init__(self, path, short_side=None, frame_table=None):
        self.path = str(path)
        try:
            file = os.stat(self.path)
        except OSError:
            file = None
        if file is None or not stat.S_ISREG(file.st_mode):
            raise video_error(self.path, 'missing', 'missing file')
        self._identity = (file.st_dev, file.st_ino, file.st_size, file.st_mtime_ns)
        self._container = None
        self.seeks = self.decoded = 0
        self._seek_margin = 0  # how far before a keyframe seeks aim (stream time base units)
        # one swscale context for every frame, single-threaded: VideoFrame.to_ndarray(format=...)
        # builds one per frame, with a thread pool, which costs twice the conversion itself at
        # dataset frame sizes, and a forked worker would wait on its parent's pool
        self._reformatter = VideoReformatter()
        self._open()
        try:
            frame_table = frame_table or PROBED_FRAME_TABLES.get(self._identity)
            if frame_table is None:
                self._probe()
                PROBED_FRAME_TABLES.put(self._identity, self.frame_table())
            else:
                self._unpack(frame_table)
        except BaseException:
            self._container.close()
            raise
        self._set_output_size(short_side)

    def _open(self):
        if self._container is not None:
            self._container.close()
        try:
            self._container = av.open(self.path)
        except _DECODE_ERRORS as exc:
            raise video_error(self.path, 'unreadable', f'cannot open as a video ({exc})') from exc
        if not self._container.streams.video:
            self._container.close()
            raise video_error(self.path, 'no_video_stream', 'holds no video stream')
        self._stream = self._container.streams.video[0]
        # one decoding thread: DataLoader workers are the parallelism, and a forked worker
        # that frees an inherited reader would wait forever on its parent's thread pool
        self._stream.codec_context.thread_count = 1

    # ---- the frame table ----------------------------------------------------------------

    def _probe(self):
        """Frame table from one demux pass (and a decode where the packets cannot tell)."""
        try:
            # (pts, keyframe, shown, bytes, dts): packets an edit list hides still decode, and
            # a hidden keyframe starts the decoding of the shown frames after it
            packets = [(p.pts, p.is_keyframe, not p.is_discard, p.size, p.dts)
                       for p in self._container.demux(self._stream) if p.size]
        except _DECODE_ERRORS as exc:
            raise video_error(self.path, 'unreadable',
                              f'corrupt or truncated video stream ({exc})') from exc
        if not packets:
            raise video_error(self.path, 'unreadable', 'video stream holds no frames')
        pts = [p for p, _, shown, _, _ in packets if shown]
        timed = [p for p in pts if p is not None]
        may_lose, stop = self._first_gop_may_lose_frames(packets)
        named = len(set(timed)) == len(timed) and (
            len(timed) == len(pts) or self._untimed_pictures_lead(packets, stop))
        derived = (named and self._container.format.name in _NO_PTS_FORMATS
                   and self._stream.codec_context.has_b_frames
                   and all(a < b for a, b in zip(timed, timed[1:])))  # pts in decode order
        placeholders = self._stream.codec_context.name == 'mpeg4' and packets and min(
            size for _, _, _, size, _ in packets) <= _NOT_CODED_BYTES
        if placeholders and named and not self._stream.codec_context.has_b_frames:
            self._learn_frames_of_placeholder_gops(packets)
            return
        if not named or derived or placeholders:
            self._learn_frames()
            return
        self._set_frames(sorted(timed), [p for p, key, shown, _, _ in packets
                                         if key and shown and p is not None], 'pts')
        if may_lose:
            self._check_first_gop(None if stop is None else packets[stop][0])

    @staticmethod
    def _first_gop_may_lose_frames(packets):
        """Whether the decoder may drop pictures of the first GOP: shown packets before the
        first keyframe, or leading pictures of it (after it in decode order, before it in pts,
        or without pts); and the position of the keyframe packet that ends the pictures at risk
        (None: the end of the file)."""
        keys = [i for i, (_, key, _, _, _) in enumerate(packets) if key]
        if not packets[0][1]:
            return True, keys[0] if keys else None
        first, stop = packets[0][0], keys[1] if len(keys) > 1 else None
        return any(shown and (pts is None or first is None or pts < first)
                   for pts, _, shown, _, _ in packets[1:stop]), stop

    def _untimed_pictures_lead(self, packets, stop):
        """Whether the shown packets without pts are all pictures that the first GOP's check
        decodes and sees (a stream cut at an open-GOP keyframe: Matroska stores no timestamps
        for its leading pictures, which the decoder drops): they come before keyframe packet
        ``stop`` in decode order, in a codec where that means before it in output order."""
        return (stop is not None and self._stream.codec_context.name in _IRAP_KEYFRAME_CODECS
                and packets[stop][0] is not None
                and None not in [pts for pts, _, shown, _, _ in packets[stop:] if shown])

    def _check_first_gop(self, stop):
        """Decode the frames before pts ``stop`` (None: all) to learn which of them the decoder
        shows; the others leave the table."""
        shown = []
        self._rewind()
        try:
            for frame in self._decode():
                if stop is not None and frame.pts is not None and frame.pts >= stop:
                    break
                shown.append(frame.pts)
        except _DECODE_ERRORS as exc:
            raise video_error(self.path, 'unreadable', f'cannot decode frames ({exc})') from exc
        if any(p not in self._index_of for p in shown) or shown != sorted(set(shown)):
            self._learn_frames()  # frames the packets do not name: number them by decoding
            return
        later = [p for p in self.pts.tolist() if stop is not None and p >= stop]
        self._set_frames(shown + later, self._keyframe_pts, 'pts')

    def _learn_frames(self):
        """Number the frames by one sequential decode, each identified by its packet's dts
        (the decoder passes a packet's pts on to its frame, so the packets' pts are set to their
        dts); sequential numbering when the dts do not tell the frames apart either."""
        order, keys = self._decode_by_dts()
        if None in order or len(set(order)) != len(order):
            self._set_sequential(len(order))
        else:
            self._set_frames(order, keys, 'dts')

    def _learn_frames_of_placeholder_gops(self, packets):
        """Low-delay MPEG-4 Part 2 (no B-VOPs) with packets of N-VOP size: every packet of a GOP
        without one shows its frame, in decode order (what the pts numbering takes of any such
        file without them), so only the GOPs that hold one, and frames before the first
        keyframe, are decoded to see which of their packets show a frame. Frames are named by
        dts, as :meth:`_learn_frames` names them, which this falls back to when that fails."""
        dts = [d for *_, d in packets]
        if (None in dts or any(a >= b for a, b in zip(dts, dts[1:]))
                or not all(shown for _, _, shown, _, _ in packets)):
            self._learn_frames()
            return
        starts = sorted({0} | {i for i, (_, key, *_) in enumerate(packets) if key})
        frames = []
        for start, end in zip(starts, starts[1:] + [len(packets)]):
            if packets[start][1] and min(size for _, _, _, size, _ in
                                         packets[start:end]) > _NOT_CODED_BYTES:
                frames += dts[start:end]
                continue
            shown, _ = self._decode_by_dts(dts[start] if start else None,
                                           dts[end] if end < len(packets) else None)
            if (shown != sorted(set(shown)) or not set(shown) <= set(dts[start:end])
                    or start and shown[:1] != [dts[start]]):
                self._learn_frames()  # the seek landed elsewhere, or frames came out of order
                return
            frames += shown
        self._set_frames(frames, [dts[i] for i in starts if packets[i][1]], 'dts')

    def _decode_by_dts(self, start=None, stop=None):
        """pts of the frames a decode shows, in order, with each packet's pts set to its dts
        first, and the dts of the keyframe packets: from the first packet, or from a seek to
        the keyframe of dts ``start``; up to the frame of dts ``stop`` (None: the end)."""
        if start is None:
            self._rewind()
        else:
            self._container.seek(start, backward=True, any_frame=False, stream=self._stream)
            self.seeks += 1
        frames, keys = [], []
        try:
            for packet in self._container.demux(self._stream):
                if packet.size:
                    packet.pts = packet.dts
                if packet.is_keyframe:
                    keys.append(packet.dts)
                for frame in packet.decode():
                    self.decoded += 1
                    if stop is not None and frame.pts is not None and frame.pts >= stop:
                        return frames, keys
                    frames.append(frame.pts)
            return frames, keys
        except _DECODE_ERRORS as exc:
            raise video_error(self.path, 'unreadable', f'cannot decode frames ({exc})') from exc

    def _set_frames(self, identities, keyframe_identities, timestamps):
        """Frame ``i`` is the one whose timestamp (``timestamps``: 'pts' or 'dts') is
        ``identities[i]``; decoding may start at each of ``keyframe_identities``."""
        if not len(identities):
            raise video_error(self.path, 'unreadable', 'video stream holds no frames')
        self._timestamps = timestamps
        self.pts = np.asarray(identities, dtype=np.int64)
        self._index_of = {int(p): i for i, p in enumerate(self.pts)}
        self._keyframe_pts = [int(p) for p in keyframe_identities if int(p) in self._index_of]
        self._true_keyframes = {self._index_of[p] for p in self._keyframe_pts}
        self.keyframes = sorted(self._true_keyframes | {0})
        self._set_rate(len(self.pts), self.pts if timestamps == 'pts' else None)

    def _set_sequential(self, count):
        if not count:
            raise video_error(self.path, 'unreadable', 'video stream holds no frames')
        self._timestamps, self.pts, self._index_of = None, None, {}
        self._keyframe_pts, self._true_keyframes, self.keyframes = [], set(), [0]
        self._set_rate(count, None)

    def _set_rate(self, count, pts):
        self.num_frames = count
        rate = self._stream.average_rate or self._stream.guessed_rate
        tb = self._stream.time_base
        span = float((pts[-1] - pts[0]) * tb) if pts is not None and count > 1 else 0.0
        self.fps = float(rate) if rate else (count - 1) / span if span else 0.0
        self.duration = count / self.fps if self.fps else span

    def frame_table(self):
        """What the probe learnt, JSON-ready and compact (pts as start + step when evenly
        spaced), for a video index to hand to later readers of the same file:
        ``{'pts', 'keyframes'}``, plus ``'timestamps': 'dts'`` when frames are named by dts,
        or ``{'sequential_frames': count}`` when only decoding from the start numbers them."""
        if self._timestamps is None:
            return dict(sequential_frames=self.num_frames)
        steps = np.unique(np.diff(self.pts))
        pts = dict(start=int(self.pts[0]), step=int(steps[0]) if len(steps) else 1,
                   count=self.num_frames) if len(steps) <= 1 and (
            not len(steps) or steps[0] > 0) else self.pts.tolist()
        table = dict(pts=pts, keyframes=sorted(self._true_keyframes))
        if self._timestamps == 'dts':
            table['timestamps'] = 'dts'
        return table

    def _unpack(self, table):
        if 'sequential_frames' in table:
            self._set_sequential(int(table['sequential_frames']))
            return
        pts = table['pts']
        if isinstance(pts, dict):
            pts = pts['start'] + pts['step'] * np.arange(pts['count'])
        pts = np.asarray(pts, dtype=np.int64)
        self._set_frames(pts, [pts[k] for k in table['keyframes'] if k < len(pts)],
                         table.get('timestamps', 'pts'))

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

    # ---- decoding -----------------------------------------------------------------------

    def _keyframe_before(self, index):
        return self.keyframes[bisect.bisect_right(self.keyframes, index) - 1]

    def _rewind(self):
        """Back to the first packet: reopening is the one way every container honours (a seek
        to the start time of an MPEG-TS can land a GOP late)."""
        self._open()
        self.seeks += 1

    def _seek(self, index):
        self._container.seek(int(self.pts[index]) - self._seek_margin, backward=True,
                             any_frame=False, stream=self._stream)
        self.seeks += 1

    def _decode(self):
        """Frames in the order the decoder shows them, from wherever the demuxer stands."""
        name_by_dts = self._timestamps == 'dts'
        for packet in self._container.demux(self._stream):
            if name_by_dts and packet.size:
                packet.pts = packet.dts
            for frame in packet.decode():
                self.decoded += 1
                yield frame

    def _checked_frames(self, start, after_seek):
        """(index, frame) for frames ``start``, ``start`` + 1, ... from the decoder's current
        position, each checked against the table; raises :class:`_Mismatch`."""
        expected = start
        for frame in self._decode():
            index = self._index_of.get(frame.pts)
            if after_seek and expected == start and (index is None or index < start):
                continue  # an earlier GOP, or leading pictures of an open GOP
            if index != expected:
                late = after_seek and expected == start
                miss = max(int(self.pts[index] - self.pts[start]), 0) if late else 0
                raise _Mismatch(f'frame {expected} expected, the decoder shows '
                                f'{"an unknown frame" if index is None else f"frame {index}"} '
                                f'(pts {frame.pts})', late, miss)
            if (after_seek and expected == start and start in self._true_keyframes
                    and not frame.key_frame):
                raise _Mismatch(f'frame {start} is marked a keyframe but does not decode as one')
            yield index, frame
            expected += 1
        if after_seek and expected == start:
            raise _Mismatch(f'the seek for frame {start} landed past the end', late=True,
                            miss=int(self.pts[-1] - self.pts[start]) + 1)

    def _frames_from(self, start):
        """(index, av.VideoFrame) for frames ``start``, ``start`` + 1, ... in presentation
        order, as a sequential decode shows them: a seek, checked, and the fallbacks of the
        module docstring."""
        next_index, tries = start, 0
        while True:
            if self._timestamps is None:  # only the order of decoding numbers the frames
                self._rewind()
                for index, frame in enumerate(self._decode()):
                    if index >= next_index:
                        yield index, frame
                return
            after_seek = tries < 2
            try:
                if after_seek:
                    self._seek(start)
                else:
                    self._rewind()
                for index, frame in self._checked_frames(start if after_seek else 0,
                                                         after_seek):
                    if index >= next_index:
                        next_index = index + 1
                        yield index, frame
                return
            except _Mismatch as mismatch:
                if not after_seek:
                    self._renumber(mismatch)
                elif mismatch.late and tries == 0:
                    self._seek_margin = max(self._seek_margin, 2 * mismatch.miss)
                    tries = 1
                else:
                    tries = 2

    def _renumber(self, mismatch):
        """Decoding from the start disagrees with the table: number the frames by decode
        order instead, if that keeps their count."""
        if self._timestamps == 'dts':
            raise video_error(self.path, 'unreadable',
                              f'frames do not decode as the container lists them ({mismatch})')
        count = self.num_frames
        self._learn_frames()
        if self.num_frames != count:
            raise video_error(self.path, 'unreadable', f'timestamps do not number the frames '
                              f'({mismatch}); a decode shows {self.num_frames}, not {count}')
        PROBED_FRAME_TABLES.put(self._identity, self.frame_table())

    def _to_rgb(self, frame):
        if self._resize:
            rgb = self._reformatter.reformat(frame, format='rgb24', width=self.width,
                                             height=self.height, interpolation='BILINEAR',
                                             threads=1)
        else:
            rgb = self._reformatter.reformat(frame, format='rgb24', threads=1)
        return rgb.to_ndarray()

    def read_frames(self, indices):
        """Frames ``indices`` (any order, repeats allowed) as uint8 (len(indices), H, W, 3) RGB.

        Raises:
            DataError: an index outside 0..num_frames-1, frames the file fails to decode, or a
                file whose frames the reader cannot number as a sequential decode does.
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
                    frames = self._frames_from(keyframe)
                for position, frame in frames:
                    if position in wanted_set:
                        got[position] = self._to_rgb(frame)
                    if position >= target:
                        break
                if target not in got:
                    raise video_error(self.path, 'unreadable',
                                      f'frame {target} of {self.num_frames} does not decode '
                                      '(corrupt or truncated stream)')
        except _DECODE_ERRORS as exc:
            raise video_error(self.path, 'unreadable', f'cannot decode frames ({exc})') from exc
        if not indices.size:
            return np.zeros((0, self.height, self.width, 3), np.uint8)
        return np.stack([got[i] for i in indices.tolist()])
