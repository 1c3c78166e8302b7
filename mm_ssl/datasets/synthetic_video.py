"""Synthetic action videos whose class only motion reveals (the embedded default for video SSL).

Each video shows one textured object (a wobbly disc with its own gratings) over a textured
background (a sum of periodic colour gratings) that pans slowly in a random direction. The class is
how the object moves. Every class draws the object's look, position, orientation and size from the
same distribution at every frame — positions live on a torus (the object wraps around the
borders), start positions and orientations are uniform, and objects that keep their size take it
from the same marginal as those that approach or recede — so one frame does not tell classes
apart; two frames do.

Frames are rendered analytically (every pixel evaluates the gratings in background and object
coordinates), so sub-pixel motion has no resampling artefacts. ``stamp=True`` writes the frame
number as a binary code of black / white 8x8 cells in a strip along the top edge
(:func:`stamp_frame_number`, :func:`read_frame_number`), for tests of frame-exact decoding; it is
off by default because it would give temporal tasks a shortcut.
"""
import math
from dataclasses import dataclass

import av
import numpy as np

__all__ = ['CLASSES', 'VideoSpec', 'object_trajectory', 'render_video', 'write_video',
           'stamp_frame_number', 'read_frame_number']

CLASSES = ('MoveRight', 'MoveLeft', 'MoveUp', 'MoveDown', 'MoveRightFast', 'RotateClockwise',
           'RotateAnticlockwise', 'Approach', 'Recede', 'Bounce')
STAMP_CELL, STAMP_BITS = 8, 16
SIZE_RANGE = (0.14, 0.3)    # object radius as a fraction of the shorter frame side
SCALE_RATE = 0.35           # |d log(radius) / dt| of approaching / receding objects, 1/s


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


def object_trajectory(spec, rng):
    """Object centre (x, y) in pixels, orientation (rad) and radius (px) at each frame time."""
    t = np.arange(spec.num_frames) / spec.fps
    w, h, side = spec.width, spec.height, min(spec.width, spec.height)
    name = CLASSES[spec.label]
    x = np.full_like(t, rng.uniform(0, w))
    y = np.full_like(t, rng.uniform(0, h))
    angle = np.full_like(t, rng.uniform(0, 2 * math.pi))
    # log-radius: a start drawn so that a (virtual) approach stays inside SIZE_RANGE; approach /
    # recede run along it, the others freeze it at one of its frames, so all share a marginal
    lo, hi = np.log(SIZE_RANGE[0] * side), np.log(SIZE_RANGE[1] * side)
    travel = min(SCALE_RATE * spec.seconds, hi - lo)
    start = rng.uniform(lo, hi - travel)
    progress = np.linspace(0, 1, spec.num_frames)
    log_r = np.full_like(t, start + travel * rng.choice(progress))
    speed = rng.uniform(0.3, 0.5) * side  # px/s
    if name.startswith('Move'):
        dx, dy = dict(Right=(1, 0), Left=(-1, 0), Up=(0, -1), Down=(0, 1),
                      RightFast=(3, 0))[name[4:]]
        x, y = x + dx * speed * t, y + dy * speed * t
    elif name.startswith('Rotate'):
        turn = rng.uniform(1.5, 3.0) * (1 if name == 'RotateClockwise' else -1)
        angle = angle + turn * t  # image y points down, so a positive turn is clockwise
    elif name in ('Approach', 'Recede'):
        log_r = start + travel * (progress if name == 'Approach' else 1 - progress)
    elif name == 'Bounce':
        period = rng.uniform(0.6, 1.0)
        y = y - 0.35 * side * np.abs(np.sin(math.pi * (t / period + rng.uniform())))
    return x % w, y % h, angle, np.exp(log_r)


def render_video(spec, rng, stamp=False):
    """The frames of ``spec`` drawn with ``rng``: uint8 (num_frames, height, width, 3) RGB."""
    w, h = spec.width, spec.height
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    background = _gratings(rng, 6, 4, 0.1)
    base = rng.uniform(0.3, 0.7, 3)
    pan = rng.normal(size=2)
    pan *= rng.uniform(2, 6) / np.linalg.norm(pan)  # px/s: slow
    skin = _gratings(rng, 4, 3, 0.3)
    tint = rng.uniform(0.1, 0.9, 3)
    lobes, wobble, lobe_phase = rng.integers(3, 6), rng.uniform(0.1, 0.25), rng.uniform(0, 6.3)
    cx, cy, angle, radius = object_trajectory(spec, rng)
    frames = np.empty((spec.num_frames, h, w, 3), np.uint8)
    for k in range(spec.num_frames):
        ox, oy = pan * k / spec.fps
        img = base + _eval_gratings(background, (xs - ox) / w, (ys - oy) / h)
        dx = (xs - cx[k] + w / 2) % w - w / 2  # torus offsets from the centre
        dy = (ys - cy[k] + h / 2) % h - h / 2
        c, s = math.cos(angle[k]), math.sin(angle[k])
        u, v = (c * dx + s * dy) / radius[k], (-s * dx + c * dy) / radius[k]
        rho, theta = np.hypot(u, v), np.arctan2(v, u)
        edge = 1 + wobble * np.cos(lobes * theta + lobe_phase)
        alpha = np.clip((edge - rho) * radius[k] + 0.5, 0, 1)[..., None]  # 1-pixel soft edge
        obj = tint + _eval_gratings(skin, u / 2, v / 2) + 0.3 * (u > 0.5)[..., None]
        img = (1 - alpha) * img + alpha * obj
        frames[k] = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
        if stamp:
            stamp_frame_number(frames[k], k)
    return frames


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
