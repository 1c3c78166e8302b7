import torch.nn.functional as F

from mm_ssl.registry import MODELS, TRANSFORMS

from .data_preprocessor import SSLDataPreprocessor


@MODELS.register_module()
class VideoDataPreprocessor(SSLDataPreprocessor):
    """Turns collated uint8 clips (channels last, as decoded) into normalised float clips in the
    encoders' layout, running the clip augmentation batched in training.

    A sample may hold one clip (T, H, W, 3) or K clips / frames of a task tuple (K, T, H, W, 3);
    the K clips of a sample share one augmentation draw, so a task cannot tell them apart by
    their crop or colour. Reproducible per step like :class:`SSLDataPreprocessor`.

    Args:
        size: side of the square frames fed to the encoder when not augmenting (bilinear resize
            of the whole frame); None keeps the decoded size.
        augment: a :class:`~mm_ssl.transforms.ClipAugment` config (``num_views`` views).

    Input: ``dict(clip=uint8 (B, [K,] T, H, W, 3), label, ...)``.
    Output: ``dict(inputs, data_samples)``; ``inputs`` is in training a list of views, each float
    (B, [K,] 3, T, S, S), else one such tensor; ``data_samples`` holds the other keys.
    """

    def __init__(self, mean=(114.75, 114.75, 114.75), std=(57.375, 57.375, 57.375),
                 size: int | None = None, augment=None, seed: int | None = None):
        super().__init__(mean, std, augment=None, seed=seed)
        self.augment = TRANSFORMS.build(augment) if isinstance(augment, dict) else augment
        self.size = size
        self.mean, self.std = self.mean.view(1, -1, 1, 1, 1), self.std.view(1, -1, 1, 1, 1)

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        clips = data['clip']
        if clips.dim() not in (5, 6):
            raise ValueError(f'VideoDataPreprocessor: clip must be (B, [K,] T, H, W, 3), got '
                             f'{tuple(clips.shape)}')
        lead = clips.shape[:-4]                                       # (B,) or (B, K)
        t, h, w, c = clips.shape[-4:]
        b = lead[0]
        x = clips.reshape(b, -1, h, w, c).permute(0, 4, 1, 2, 3)        # (B, C, K*T, H, W)
        if training and self.augment is not None:
            views = self.augment(x, generator=self._generator())
        else:
            views = [self._resize(x)]
        views = [self._normalize(v).view(b, c, *lead[1:], t, *v.shape[-2:]) for v in views]
        if len(lead) == 2:                                  # (B, C, K, T, ...) -> (B, K, C, T, ...)
            views = [v.transpose(1, 2) for v in views]
        samples = {k: v for k, v in data.items() if k != 'clip'}
        return dict(inputs=views if training else views[0], data_samples=samples)

    def _resize(self, x):
        if self.size is None or x.shape[-2:] == (self.size, self.size):
            return x
        b, c, t, h, w = x.shape
        frames = x.transpose(1, 2).reshape(b * t, c, h, w).float()
        frames = F.interpolate(frames, size=(self.size, self.size), mode='bilinear',
                               antialias=True, align_corners=False)
        return frames.view(b, t, c, self.size, self.size).transpose(1, 2)

    def _normalize(self, x):
        return (x.float() - self.mean) / self.std
