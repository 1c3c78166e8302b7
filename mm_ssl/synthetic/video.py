"""Synthetic action videos whose class only motion reveals (the embedded default for video SSL).

Each video shows one textured object (a wobbly disc with its own gratings) over a textured
background (a sum of periodic colour gratings) that pans slowly in a random direction. The class is
how the object moves, and every class gives the frames an unambiguous temporal order: the object
never leaves the frame or wraps around its border, moves monotonically along one axis (Move*, and
Bounce's horizontal drift, while it bounces off the top and bottom walls), turns by less than a
full turn (Rotate*) or grows / shrinks by 2x (Approach / Recede). Every class draws the object's
look, position, orientation and size from the same distribution at every frame — a moving object
crosses half its range (MoveRightFast: all of it) starting at the range's start or middle, so its
position at a random frame is uniform on the range, as a still object's is; objects that keep
their size take it from the same marginal as those that approach or recede — so one frame does
not tell classes apart; two frames do.

:func:`write_file_kind` writes frames as the kinds of file real collections hold
(:data:`FILE_KINDS`: edit lists, open GOPs, AVI without presentation timestamps, N-VOPs, variable
frame rates, ...), for tests and benchmarks of frame-exact decoding.

Frames are rendered analytically (every pixel evaluates the gratings in background and object
coordinates), so sub-pixel motion has no resampling artefacts. ``stamp=True`` writes the frame
number as a binary code of black / white 8x8 cells in a strip along the top edge
(:func:`stamp_frame_number`, :func:`read_frame_number`), for tests of frame-exact decoding; it is
off by default because it would give temporal tasks a shortcut.
"""
import io
import json
import math
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from mm_ssl.errors import ConfigError, DataError
from mm_ssl.progress import progress

__all__ = ['CLASSES', 'VideoSpec', 'object_trajectory', 'render_video', 'write_video',
           'stamp_frame_number', 'read_frame_number', 'FILE_KINDS', 'write_file_kind',
           'write_video_set', 'video_name']

CLASSES = ('MoveRight', 'MoveLeft', 'MoveUp', 'MoveDown', 'MoveRightFast', 'RotateClockwise',
           'RotateAnticlockwise', 'Approach', 'Recede', 'Bounce')
STAMP_CELL, STAMP_BITS = 8, 16
# The scene's difficulty. These values make the class learnable by the small 3D CNN at 48 px in
# about a minute of CPU (benchmarks/video_tasks.py --supervised); with the first redesign's
# (objects of radius 0.06-0.15 with a tint drawn independently of the background, often close to
# it, on a cluttered background: grating amplitudes 0.1 / 0.3, a 2-6 px/s pan) even supervised
# training stayed at chance.
SIZE_RANGE = (0.1, 0.2)     # object radius as a fraction of the shorter frame side
WOBBLE = (0.1, 0.25)        # the outline's bumps: it reaches out to (1 + wobble) * radius
TURN_RATE = (2.0, 3.0)      # rad/s of the rotating classes: under a full turn in 2 s
PAN_SPEED = (1.0, 3.0)      # px/s of the background's pan: slow
BACKGROUND_AMPLITUDE = 0.03  # per grating (6 of them) of the background: faint clutter
SKIN_AMPLITUDE = 0.08       # per grating (4 of them) of the object's texture
CONTRAST = 0.4              # the object's colour differs from the background's by this much


@dataclass
class VideoSpec:
    """What one video shows; ``rng`` draws everything else (textures, start state)."""
    label: int
    width: int = 64
    height: int = 64
    fps: float = 25.0
    seconds: float = 2.0

    @property
    def num_frames(self):
        return round(self.fps * self.seconds)


def _gratings(rng, num, max_freq, amplitude):
    """Random colour gratings: integer frequencies (periodic over the unit square), phases and
    RGB amplitudes."""
    freq = rng.integers(-max_freq, max_freq + 1, (num, 2))
    freq[(freq == 0).all(1), 0] = 1
    return freq, rng.uniform(0, 2 * math.pi, num), rng.uniform(-amplitude, amplitude, (num, 3))


def _eval_gratings(gratings, u, v):
    """Sum of gratings at unit-periodic coordinates (u, v): (..., 3) float."""
    freq, phase, colour = gratings
    arg = 2 * math.pi * (freq[:, 0, None, None] * u + freq[:, 1, None, None] * v) \
        + phase[:, None, None]
    return np.einsum('khw,kc->hwc', np.sin(arg), colour)  # (K, H, W) x (K, 3) -> (H, W, 3)


def centre_range(spec) -> tuple[float, float, float, float]:
    """(x_min, x_max, y_min, y_max) px of the object centre: the largest object's outline, with
    its one-pixel soft edge, stays inside the frame."""
    margin = (1 + WOBBLE[1]) * SIZE_RANGE[1] * min(spec.width, spec.height) + 1
    return margin, spec.width - margin, margin, spec.height - margin


def object_trajectory(spec, rng):
    """Object centre (x, y) in pixels, orientation (rad) and radius (px) at each frame time.

    With L the length of the centre's range along an axis (:func:`centre_range`), a moving object
    crosses L / 2 (MoveRightFast: L) during the video, at constant speed; Bounce drifts L / 2 left
    or right and moves L vertically along a triangle wave between the top and bottom of the range
    (a random phase, so it reflects off a wall once in most videos).
    """
    n = spec.num_frames
    t = np.arange(n) / spec.fps
    progress = np.linspace(0, 1, n)
    x_min, x_max, y_min, y_max = centre_range(spec)
    name = CLASSES[spec.label]
    x = np.full(n, rng.uniform(x_min, x_max))
    y = np.full(n, rng.uniform(y_min, y_max))
    angle = np.full(n, rng.uniform(0, 2 * math.pi))
    # log-radius: approach / recede run through the whole of SIZE_RANGE, the others freeze it at
    # one of their frames, so all share a marginal
    side = min(spec.width, spec.height)
    lo, hi = np.log(SIZE_RANGE[0] * side), np.log(SIZE_RANGE[1] * side)
    log_r = np.full(n, lo + (hi - lo) * rng.choice(progress))

    def crossing(low, high, direction, fraction):
        """Positions crossing ``fraction`` of [low, high] in ``direction`` (+1 / -1), starting at
        the start or the middle of the range: uniform on it at a random frame."""
        start = rng.integers(round(1 / fraction)) * fraction
        offset = (high - low) * (start + fraction * progress)
        return low + offset if direction > 0 else high - offset

    if name.startswith('Move'):
        dx, dy = dict(Right=(1, 0), Left=(-1, 0), Up=(0, -1), Down=(0, 1),
                      RightFast=(1, 0))[name[4:]]
        fraction = 1.0 if name == 'MoveRightFast' else 0.5
        if dx:
            x = crossing(x_min, x_max, dx, fraction)
        else:
            y = crossing(y_min, y_max, dy, fraction)
    elif name.startswith('Rotate'):
        turn = rng.uniform(*TURN_RATE) * (1 if name == 'RotateClockwise' else -1)
        angle = angle + turn * t  # image y points down, so a positive turn is clockwise
    elif name in ('Approach', 'Recede'):
        log_r = lo + (hi - lo) * (progress if name == 'Approach' else 1 - progress)
    elif name == 'Bounce':
        x = crossing(x_min, x_max, rng.choice((-1, 1)), 0.5)
        phase = rng.uniform(0, 2)
        y = y_min + (y_max - y_min) * (1 - np.abs((phase + progress) % 2 - 1))  # triangle wave
    return x, y, angle, np.exp(log_r)


def render_video(spec, rng, stamp=False, return_masks=False):
    """The frames of ``spec`` drawn with ``rng``: uint8 (num_frames, height, width, 3) RGB; with
    ``return_masks`` also the object's coverage of each pixel, float (num_frames, height, width)
    in [0, 1]."""
    w, h = spec.width, spec.height
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    background = _gratings(rng, 6, 4, BACKGROUND_AMPLITUDE)
    base = rng.uniform(0.3, 0.7, 3)
    pan = rng.normal(size=2)
    pan *= rng.uniform(*PAN_SPEED) / np.linalg.norm(pan)  # px/s: slow
    skin = _gratings(rng, 4, 3, SKIN_AMPLITUDE)
    # as far from the background's colour as CONTRAST per channel, towards the other end
    tint = np.where(base > 0.5, base - CONTRAST, base + CONTRAST) + rng.uniform(-0.05, 0.05, 3)
    lobes, wobble, lobe_phase = rng.integers(3, 6), rng.uniform(*WOBBLE), rng.uniform(0, 6.3)
    cx, cy, angle, radius = object_trajectory(spec, rng)
    frames = np.empty((spec.num_frames, h, w, 3), np.uint8)
    masks = np.empty((spec.num_frames, h, w), np.float32)
    for k in range(spec.num_frames):
        ox, oy = pan * k / spec.fps
        img = base + _eval_gratings(background, (xs - ox) / w, (ys - oy) / h)
        dx, dy = xs - cx[k], ys - cy[k]
        c, s = math.cos(angle[k]), math.sin(angle[k])
        u, v = (c * dx + s * dy) / radius[k], (-s * dx + c * dy) / radius[k]
        rho, theta = np.hypot(u, v), np.arctan2(v, u)
        edge = 1 + wobble * np.cos(lobes * theta + lobe_phase)
        alpha = np.clip((edge - rho) * radius[k] + 0.5, 0, 1)[..., None]  # 1-pixel soft edge
        obj = tint + _eval_gratings(skin, u / 2, v / 2) + 0.3 * (u > 0.5)[..., None]
        img = (1 - alpha) * img + alpha * obj
        masks[k] = alpha[..., 0]
        frames[k] = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
        if stamp:
            stamp_frame_number(frames[k], k)
    return (frames, masks) if return_masks else frames


def _stamp_cells(width):
    per_row = width // STAMP_CELL
    if per_row < 1 or STAMP_BITS > per_row * 8:
        raise ValueError(f'frames {width} px wide are too narrow for the frame-number stamp')
    return [((b // per_row) * STAMP_CELL, (b % per_row) * STAMP_CELL) for b in range(STAMP_BITS)]


def stamp_frame_number(img, number):
    """Write ``number`` (< 2**16) into uint8 (H, W, 3) ``img`` in place: bit b is the 8x8 cell
    b // (W // 8) rows down, b % (W // 8) across, white for 1 and black for 0."""
    for b, (top, left) in enumerate(_stamp_cells(img.shape[1])):
        img[top:top + STAMP_CELL, left:left + STAMP_CELL] = 255 * ((number >> b) & 1)
    return img


def read_frame_number(img):
    """The number :func:`stamp_frame_number` wrote into ``img`` (read from each cell's 4x4 centre,
    which survives lossy compression)."""
    q = STAMP_CELL // 4
    bits = [np.asarray(img[top + q:top + 3 * q, left + q:left + 3 * q]).mean() > 127
            for top, left in _stamp_cells(img.shape[1])]
    return sum(int(bit) << b for b, bit in enumerate(bits))


def write_video(path, frames, fps=25, gop=12, crf=18):
    """Encode uint8 (T, H, W, 3) RGB ``frames`` as H.264 in ``path`` (mp4 or another container
    FFmpeg infers from the suffix), with a keyframe every ``gop`` frames and x264's default
    B-frames (so decode order differs from presentation order, as in real files). Single-threaded
    x264, so that the bytes are a function of the frames."""
    h, w = frames.shape[1:3]
    with av.open(str(path), 'w') as container:
        stream = container.add_stream('libx264', rate=round(fps), options={
            'x264-params': f'keyint={gop}:min-keyint={gop}:scenecut=0', 'crf': str(crf),
            'threads': '1'})
        stream.width, stream.height, stream.pix_fmt = w, h, 'yuv420p'
        for img in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(img, format='rgb24')))
        container.mux(stream.encode())


# kind: (file suffix, what the file reproduces)
FILE_KINDS = {
    'mp4_edit_list': ('.mp4', 'H.264 MP4 cut by stream copy 4 frames after a keyframe: an edit '
                      'list hides the frames before the cut, which still decode'),
    'mpeg2_ps': ('.mpg', 'MPEG-2 in MPEG-PS as FFmpeg muxes it: open GOPs (B-frames before each '
                 'I-frame), start time 0.54 s; the demuxer makes up the pts of pictures whose '
                 'packet has none, wrongly after a seek and for some I-frames even without one'),
    'mpeg2_ps_cut': ('.mpg', 'the same stream cut by stream copy at an open-GOP I-frame: the '
                     'B-frames before it have no references and do not decode'),
    'h264_avi': ('.avi', 'H.264 with B-frames in AVI, which stores no presentation timestamps'),
    'mpeg4_avi': ('.avi', 'MPEG-4 ASP in AVI without B-frames (UCF101, HMDB51)'),
    'mpeg4_avi_bframes': ('.avi', 'MPEG-4 ASP in AVI with B-frames and open GOPs'),
    'mpeg4_avi_dropped': ('.avi', 'MPEG-4 ASP in AVI with two frames dropped at capture and '
                          'stored as N-VOPs (not coded), as DivX / XviD write them: the decoder '
                          'shows no frame for them'),
    'vfr_mkv': ('.mkv', 'H.264 in Matroska at a variable frame rate (20-80 ms per frame), '
                'start time 1 s'),
    'vp9_webm': ('.webm', 'VP9 in WebM with hidden alt-ref frames'),
    'hevc_open_gop': ('.mp4', 'HEVC (x265) in MP4 with open-GOP CRA keyframes and B-frames'),
    'hevc_mkv_cut': ('.mkv', 'the same cut by stream copy at a CRA into Matroska: leading '
                     'pictures without timestamps, packets without dts'),
    'h264_ts': ('.ts', 'H.264 in MPEG-TS starting at 2 s: seeks search clock references, '
                'which run ahead of the frames'),
}


def _encode(output, frames, codec, fps, options=None, format=None, pts=None, time_base=None,
            **codec_args):
    """Encode uint8 (T, H, W, 3) ``frames`` with ``codec``; ``pts`` in ``time_base`` (default:
    0, 1, 2, ... at ``fps``)."""
    h, w = frames.shape[1:3]
    with av.open(output, 'w', format=format) as container:
        stream = container.add_stream(codec, rate=fps, options=options or {})
        stream.width, stream.height, stream.pix_fmt = w, h, 'yuv420p'
        for name, value in codec_args.items():
            setattr(stream.codec_context, name, value)
        if time_base is not None:
            stream.codec_context.time_base = stream.time_base = time_base
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format='rgb24')
            if pts is not None:
                frame.pts, frame.time_base = int(pts[i]), time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return output


def _stream_copy_cut(source, path, first_frame, format=None):
    """Copy the packets of ``source`` into ``path`` from the keyframe at or before frame
    ``first_frame`` on, shifted so that ``first_frame`` is at time 0, as ``ffmpeg -ss t -c copy``
    does: the packets before it get negative timestamps (an MP4 muxer writes an edit list that
    hides them)."""
    with av.open(source) as src:
        stream = src.streams.video[0]
        packets = [p for p in src.demux(stream) if p.size]
        cut = sorted(p.pts for p in packets)[first_frame]
        start = max(i for i, p in enumerate(packets) if p.is_keyframe and p.pts <= cut)
        with av.open(str(path), 'w', format=format) as dst:
            out = dst.add_stream_from_template(stream)
            for packet in packets[start:]:
                packet.pts -= cut
                packet.dts -= cut
                packet.stream = out
                dst.mux(packet)


def _not_coded_vop(frame_number, fps):
    """An MPEG-4 Part 2 N-VOP (a P-VOP header with vop_coded = 0) for ``frame_number`` of a
    stream at ``fps`` (vop_time_increment_resolution = fps, as FFmpeg's encoder sets it): start
    code 00 00 01 B6, vop_coding_type 01, modulo_time_base (a 1 per second boundary since the
    frame before, then 0), marker, vop_time_increment, marker, vop_coded 0, stuffing."""
    seconds = frame_number // fps - (frame_number - 1) // fps
    increment_bits = max(int(fps - 1).bit_length(), 1)
    bits = '01' + '1' * seconds + '0' + '1' + format(frame_number % fps, f'0{increment_bits}b')
    bits += '1' + '0'
    bits += '0' + '1' * (-(len(bits) + 1) % 8)
    return b'\x00\x00\x01\xb6' + int(bits, 2).to_bytes(len(bits) // 8, 'big')


def write_file_kind(path, frames, kind, fps=25, gop=10):
    """Write uint8 (T, H, W, 3) RGB ``frames`` into ``path`` as file kind ``kind`` (a key of
    :data:`FILE_KINDS`; ``path`` should end in its suffix), with a keyframe every ``gop``
    frames, single-threaded encoders. The kinds cut by stream copy lose the frames before the
    cut (4 frames into the second GOP, or at the second GOP's keyframe)."""
    x264 = {'x264-params': f'keyint={gop}:min-keyint={gop}:scenecut=0', 'crf': '18',
            'threads': '1'}
    x265 = {'x265-params': f'keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=1:bframes=3:'
                           'pools=1:frame-threads=1:log-level=error', 'crf': '20'}
    path = str(path)
    if kind == 'mp4_edit_list':
        full = _encode(io.BytesIO(), frames, 'libx264', fps, x264, format='mp4')
        _stream_copy_cut(full.seek(0) or full, path, gop + 4)
    elif kind == 'mpeg2_ps':
        # open GOPs are the encoder's default; qscale keeps the frame-number stamp readable
        _encode(path, frames, 'mpeg2video', fps, {'qscale': '3'}, format='mpeg', gop_size=gop,
                max_b_frames=2)
    elif kind == 'mpeg2_ps_cut':
        # cut from MP4, whose timestamps survive the copy (an MPEG-PS demuxer's dts need not
        # increase), at the second I-frame
        full = _encode(io.BytesIO(), frames, 'mpeg2video', fps, {'qscale': '3'}, format='mp4',
                       gop_size=gop, max_b_frames=2)
        with av.open(full.seek(0) or full) as probe:
            packets = [(p.pts, p.is_keyframe) for p in probe.demux(video=0) if p.size]
        second_key = [pts for pts, key in packets if key][1]
        _stream_copy_cut(full.seek(0) or full, path,
                         sorted(pts for pts, _ in packets).index(second_key), format='mpeg')
    elif kind == 'h264_avi':
        _encode(path, frames, 'libx264', fps, x264)
    elif kind in ('mpeg4_avi', 'mpeg4_avi_bframes'):
        _encode(path, frames, 'mpeg4', fps, {'qscale': '3'}, gop_size=gop,
                max_b_frames=2 if kind == 'mpeg4_avi_bframes' else 0)
    elif kind == 'mpeg4_avi_dropped':
        # the capture repeated the frame before each dropped one, so the P-VOPs after an N-VOP
        # predict from the picture the decoder holds
        dropped = (gop + 3, 2 * gop + 6)
        held = frames.copy()
        for k in dropped:
            held[k] = held[k - 1]
        avi = _encode(io.BytesIO(), held, 'mpeg4', fps, {'qscale': '3'}, format='avi',
                      gop_size=gop)
        with av.open(avi.seek(0) or avi) as src, av.open(path, 'w') as dst:
            stream = src.streams.video[0]
            out = dst.add_stream_from_template(stream)
            for k, packet in enumerate(p for p in src.demux(stream) if p.size):
                if k in dropped:
                    not_coded = av.Packet(_not_coded_vop(k, fps))
                    not_coded.pts, not_coded.dts = packet.pts, packet.dts
                    not_coded.time_base, packet = packet.time_base, not_coded
                packet.stream = out
                dst.mux(packet)
    elif kind == 'vfr_mkv':
        durations = np.random.default_rng(0).choice([20, 33, 40, 80], len(frames))
        _encode(path, frames, 'libx264', fps, x264, pts=1000 + np.cumsum(durations) - durations,
                time_base=Fraction(1, 1000))
    elif kind == 'vp9_webm':
        _encode(path, frames, 'libvpx-vp9', fps, {
            'g': str(gop), 'crf': '20', 'b': '0', 'lag-in-frames': '16', 'auto-alt-ref': '1',
            'threads': '1', 'deadline': 'good', 'cpu-used': '8'})
    elif kind in ('hevc_open_gop', 'hevc_mkv_cut'):
        target = io.BytesIO() if kind == 'hevc_mkv_cut' else path
        hevc = _encode(target, frames, 'libx265', fps, x265, format='mp4')
        if kind == 'hevc_mkv_cut':
            _stream_copy_cut(hevc.seek(0) or hevc, path, gop + 4, format='matroska')
    elif kind == 'h264_ts':
        _encode(path, frames, 'libx264', fps, x264, pts=np.arange(len(frames)) + 2 * fps,
                time_base=Fraction(1, fps))
    else:
        raise ValueError(f'unknown file kind {kind!r}; one of {", ".join(FILE_KINDS)}')


# a UCF101-layout set of these videos (data_prep/make_synthetic_videos.py, the benchmarks)
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


def write_video_set(out, videos=200, seed=0, size=64, seconds=2.0, fps=25, gop=12,
                    test_fraction=0.3, stamp=False, workers=1, verbose=True):
    """Write ``videos`` videos and the UCF101-format split lists under ``out``; returns a
    summary dict (also stored in ``out/synthetic_videos.json``)."""
    if videos < 2 * len(CLASSES):
        raise ConfigError(f'videos must be >= {2 * len(CLASSES)} (two per class), got {videos}')
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
