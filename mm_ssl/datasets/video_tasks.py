"""Frame samplers of the temporal pretext tasks, and the video dataset that serves their tuples.

A sampler is a callable ``(num_frames, rng) -> int array (K, T)``: K frames or clips of T frames
of one video, stored in temporal order (the algorithms shuffle them). It raises ValueError when the
video is too short, which :class:`~mm_ssl.datasets.video.VideoDataset` reports naming the file.
"""
import cv2
import numpy as np

from mm_ssl.errors import ConfigError
from mm_ssl.registry import DATASETS
from mm_ssl.transforms.video import dense_flow

from .video import VideoDataset

__all__ = ['TimeContrastiveSampler', 'MotionTupleSampler', 'ClipOrderSampler',
           'VideoTaskDataset', 'frame_motion']


class TimeContrastiveSampler:
    """Anchor t, a positive within ``pos_radius`` of it (not t itself) and ``num_negatives``
    frames more than ``neg_gap`` away (single-view TCN, Sermanet et al. 2018). Output (2 + M, 1)."""

    def __init__(self, pos_radius: int = 2, neg_gap: int = 10, num_negatives: int = 2):
        self.pos_radius, self.neg_gap, self.num_negatives = pos_radius, neg_gap, num_negatives

    def __call__(self, num_frames, rng):
        if num_frames < self.neg_gap + 2:
            raise ValueError(f'{num_frames} frames, time-contrastive sampling needs more than '
                             f'neg_gap + 1 = {self.neg_gap + 1}')
        anchor = int(rng.integers(num_frames))
        near = [i for i in range(anchor - self.pos_radius, anchor + self.pos_radius + 1)
                if 0 <= i < num_frames and i != anchor]
        far = np.flatnonzero(np.abs(np.arange(num_frames) - anchor) > self.neg_gap)
        if not far.size:    # anchor mid-video in a short one: move it to an end
            anchor = 0 if rng.random() < 0.5 else num_frames - 1
            near = [anchor + 1] if anchor == 0 else [anchor - 1]
            far = np.flatnonzero(np.abs(np.arange(num_frames) - anchor) > self.neg_gap)
        negatives = rng.choice(far, self.num_negatives, replace=far.size < self.num_negatives)
        return np.array([anchor, rng.choice(near), *negatives])[:, None]


def frame_motion(frames: np.ndarray, method: str = 'diff') -> np.ndarray:
    """Motion between consecutive frames, by which Shuffle and Learn picks high-motion windows:
    ``'diff'`` the mean absolute grey-level difference (cheap), ``'flow'`` the mean magnitude of
    Farneback optical flow in pixels (the paper's measure).

    Shape:
        frames: uint8 (N, H, W, 3). Output: float (N - 1,).
    """
    if method == 'flow':
        grey = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in frames]
        return np.array([np.linalg.norm(dense_flow(a, b), axis=-1).mean()
                         for a, b in zip(grey[:-1], grey[1:])])
    if method != 'diff':
        raise ConfigError(f"frame_motion: method must be 'diff' or 'flow', got {method!r}")
    grey = frames.astype(np.float32).mean(-1)
    return np.abs(np.diff(grey, axis=0)).mean((1, 2))


class MotionTupleSampler:
    """``num`` frames in increasing order (a < b < c < d < e for Shuffle and Learn, 4 for OPN),
    at least ``min_gap`` apart, inside a window of ``span`` frames; given the video's
    :func:`frame_motion`, the window is drawn with probability proportional to its motion
    raised to ``motion_power`` (high-motion windows, Misra et al. 2016 §3.2), else uniformly.
    Output (num, 1)."""
    uses_motion = True

    def __init__(self, num: int = 5, span: int = 30, min_gap: int = 2, motion_power: float = 2.0):
        if span < (num - 1) * min_gap + 1:
            raise ConfigError(f'MotionTupleSampler: span {span} cannot hold {num} frames '
                              f'{min_gap} apart')
        self.num, self.span, self.min_gap, self.motion_power = num, span, min_gap, motion_power

    def __call__(self, num_frames, rng, motion=None):
        span = min(self.span, num_frames)
        if span < (self.num - 1) * self.min_gap + 1:
            raise ValueError(f'{num_frames} frames, a {self.num}-frame tuple {self.min_gap} '
                             f'apart needs {(self.num - 1) * self.min_gap + 1}')
        starts = num_frames - span + 1
        if motion is None:
            start = int(rng.integers(starts))
        else:
            window = np.convolve(motion, np.ones(span - 1), 'valid')[:starts] + 1e-6
            weight = window ** self.motion_power
            start = int(rng.choice(starts, p=weight / weight.sum()))
        # num sorted offsets min_gap apart: sorted draws from the slack, plus the gaps
        slack = span - 1 - (self.num - 1) * self.min_gap
        offsets = np.sort(rng.integers(0, slack + 1, self.num)) + np.arange(self.num) * self.min_gap
        return (start + offsets)[:, None]


class ClipOrderSampler:
    """VCOP's clips (Xu et al. 2019): ``num_clips`` clips of ``clip_len`` frames, each ``gap``
    frames after the previous one ends, at a random start. Output (num_clips, clip_len)."""

    def __init__(self, num_clips: int = 3, clip_len: int = 8, gap: int = 4):
        self.num_clips, self.clip_len, self.gap = num_clips, clip_len, gap

    def __call__(self, num_frames, rng):
        total = self.num_clips * self.clip_len + (self.num_clips - 1) * self.gap
        if num_frames < total:
            raise ValueError(f'{num_frames} frames, {self.num_clips} clips of {self.clip_len} '
                             f'with gaps of {self.gap} need {total}')
        start = int(rng.integers(num_frames - total + 1))
        firsts = start + np.arange(self.num_clips) * (self.clip_len + self.gap)
        return firsts[:, None] + np.arange(self.clip_len)


TASK_SAMPLERS = dict(tcn=TimeContrastiveSampler, shuffle_learn=MotionTupleSampler,
                     opn=MotionTupleSampler, vcop=ClipOrderSampler)
TASK_DEFAULTS = dict(shuffle_learn=dict(num=5), opn=dict(num=4))


@DATASETS.register_module()
class VideoTaskDataset(VideoDataset):
    """A :class:`VideoDataset` whose samples are the frame tuples of a temporal task:
    ``task='tcn' | 'shuffle_learn' | 'opn' | 'vcop'`` with the sampler's kwargs in
    ``task_cfg``. (TaCo and clip contrastive learning use plain ``VideoDataset`` clips.)

    Samplers that use motion get the video's :func:`frame_motion` (``motion='diff'`` or
    ``'flow'``), computed from all its frames the first time the video is drawn and cached per
    process (one full decode per video).

    A sample's ``clip`` is uint8 (K, T, H, W, 3), frames / clips in temporal order.
    """

    def __init__(self, *args, task: str = 'shuffle_learn', task_cfg: dict | None = None,
                 motion: str = 'diff', **kwargs):
        if task not in TASK_SAMPLERS:
            raise ConfigError(f'VideoTaskDataset: task must be one of {list(TASK_SAMPLERS)}, '
                              f'got {task!r}')
        self.task = task
        self.task_sampler = TASK_SAMPLERS[task](**dict(TASK_DEFAULTS.get(task, {}),
                                                       **(task_cfg or {})))
        self.motion_method = motion
        self._motion = {}
        kwargs.pop('sampler', None)   # a config's plain-clip sampler, inherited from its base
        super().__init__(*args, sampler=self.task_sampler, **kwargs)

    def pick_frames(self, video_idx, num_frames, rng):
        if not getattr(self.task_sampler, 'uses_motion', False):
            return self.task_sampler(num_frames, rng)
        if video_idx not in self._motion:
            frames = self.read_frames(video_idx, np.arange(num_frames))
            self._motion[video_idx] = frame_motion(frames, self.motion_method)
        return self.task_sampler(num_frames, rng, self._motion[video_idx])
