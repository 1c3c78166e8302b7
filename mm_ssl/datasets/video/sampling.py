"""Which frames of a video make its clips: random, uniform (N clips spread over the video, the
evaluation protocol) or dense (consecutive clips)."""
import numpy as np

from mm_ssl.errors import ConfigError

__all__ = ['SAMPLERS', 'sample_clip_indices']

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
