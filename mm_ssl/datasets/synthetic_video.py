"""Synthetic action videos whose class only motion reveals (the embedded default for video SSL).

Each video shows one textured object (a wobbly disc with its own gratings) over a textured
background (a sum of periodic colour gratings) that pans slowly in a random direction. The class is
how the object moves, and every class gives the frames an unambiguous temporal order: the object
never leaves the frame or wraps around its border, moves monotonically along one axis (Move*, and
Bounce's horizontal drift, while it bounces off the top and bottom walls), turns by less than a
full turn (Rotate*) or grows / shrinks by 2.5x (Approach / Recede). Every class draws the object's
look, position, orientation and size from the same distribution at every frame — a moving object
crosses half its range (MoveRightFast: all of it) starting at the range's start or middle, so its
position at a random frame is uniform on the range, as a still object's is; objects that keep
their size take it from the same marginal as those that approach or recede — so one frame does
not tell classes apart; two frames do.

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
SIZE_RANGE = (0.06, 0.15)   # object radius as a fraction of the shorter frame side
WOBBLE = (0.1, 0.25)        # the outline's bumps: it reaches out to (1 + wobble) * radius
TURN_RATE = (2.0, 3.0)      # rad/s of the rotating classes: under a full turn in 2 s


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
    background = _gratings(rng, 6, 4, 0.1)
    base = rng.uniform(0.3, 0.7, 3)
    pan = rng.normal(size=2)
    pan *= rng.uniform(2, 6) / np.linalg.norm(pan)  # px/s: slow
    skin = _gratings(rng, 4, 3, 0.3)
    tint = rng.uniform(0.1, 0.9, 3)
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
