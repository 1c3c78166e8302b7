"""Clip augmentations: spatial ones with the same parameters for every frame of a clip, and the
temporal ones of TaCo (Bai et al. 2020, "Can Temporal Information Help with Contrastive
Self-Supervised Learning?") and its notes (``seeds/003``): spatial local disturbance, optical-flow
scaling, temporal shift, and the rotation / reversal / shuffle / speed transformations.

Clips are in the encoders' layout, (B, C, T, H, W): uint8 for :class:`ClipAugment`, any dtype for
the temporal functions, which only index and move pixels.
"""
import cv2
import numpy as np
import torch
import torch.nn.functional as F

from mm_ssl.registry import TRANSFORMS

from .multiview import ViewAugment

__all__ = ['ClipAugment', 'local_disturbance', 'dense_flow', 'flow_scale', 'temporal_shift',
           'rotate_clip', 'reverse_clip', 'shuffle_clip', 'speed_indices']


def _identity_grid(n, h, w, device):
    """(n, h, w, 2) grid_sample coordinates (x, y) of the pixel centres (align_corners=False)."""
    ys = (torch.arange(h, device=device) * 2 + 1) / h - 1
    xs = (torch.arange(w, device=device) * 2 + 1) / w - 1
    grid = torch.stack(torch.meshgrid(xs, ys, indexing='xy'), -1)       # (h, w, 2)
    return grid.expand(n, h, w, 2)


def local_disturbance(clips: torch.Tensor, strength: torch.Tensor, grid_size: int = 4,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Spatial local disturbance (TaCo notes, "spatial warping"): a smooth random displacement
    field — ``grid_size`` x ``grid_size`` control points with offsets uniform in
    [-strength, strength] (fraction of the image side), upsampled bicubically — moves local
    regions while the global layout and colour statistics stay. One field per clip, shared by its
    frames, so the warp adds no motion.

    Shape:
        clips: float (B, C, T, H, W); strength: (B,) (0 = identity). Output: as ``clips``.
    """
    b, c, t, h, w = clips.shape
    device = generator.device if generator is not None else 'cpu'
    offsets = (torch.rand(b, 2, grid_size, grid_size, generator=generator, device=device) * 2 - 1)
    offsets = offsets.to(clips.device) * strength.to(clips.device).view(b, 1, 1, 1) * 2
    field = F.interpolate(offsets, size=(h, w), mode='bicubic', align_corners=True)  # (B, 2, H, W)
    grid = _identity_grid(b, h, w, clips.device) + field.permute(0, 2, 3, 1)
    frames = clips.transpose(1, 2).reshape(b, t * c, h, w)               # frames share one grid
    out = F.grid_sample(frames.float(), grid, mode='bilinear', padding_mode='reflection',
                        align_corners=False)
    return out.view(b, t, c, h, w).transpose(1, 2).to(clips.dtype)


def dense_flow(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Farneback dense optical flow (OpenCV) ``V`` with ``target(p) ~= source(p + V(p))``.

    Shape:
        source, target: uint8 (H, W) grey images. Output: float32 (H, W, 2) as (Vx, Vy) pixels.
    """
    return cv2.calcOpticalFlowFarneback(target, source, None, pyr_scale=0.5, levels=3, winsize=15,
                                        iterations=3, poly_n=5, poly_sigma=1.2, flags=0)


def flow_scale(clip: torch.Tensor, phi) -> torch.Tensor:
    r"""Optical-flow scaling (TaCo notes): frame t+1 is replaced by frame t warped along the
    scaled flow between them,

    .. math::
        \hat I(x, y, t+1) = I(x + \phi(t) V_x,\; y + \phi(t) V_y,\; t)

    where :math:`I(x, y, t+1) = I(x + V_x, y + V_y, t)` (brightness constancy) defines V, estimated
    with Farneback's method on grey frames. :math:`\phi = 1` reproduces the clip up to flow error,
    :math:`\phi > 1` speeds motion up, :math:`\phi < 1` slows it down. The first frame is kept.

    Shape:
        clip: uint8 (C, T, H, W), C in {1, 3}; phi: float or (T - 1,). Output: uint8 (C, T, H, W).
    """
    c, t, h, w = clip.shape
    phi = np.broadcast_to(np.asarray(phi, dtype=np.float32), (t - 1,))
    frames = clip.permute(1, 2, 3, 0).cpu().numpy()                      # (T, H, W, C)
    grey = frames[..., 0] if c == 1 else np.stack(
        [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in frames])
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    out = [frames[0]]
    for i in range(t - 1):
        v = dense_flow(grey[i], grey[i + 1])
        warped = cv2.remap(frames[i], xs + phi[i] * v[..., 0], ys + phi[i] * v[..., 1],
                           cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        out.append(warped.reshape(h, w, c))
    return torch.from_numpy(np.stack(out)).permute(3, 0, 1, 2).to(clip.device)


def temporal_shift(clips: torch.Tensor, tau, dim: int = 2) -> torch.Tensor:
    r"""Temporal shift (TaCo notes): :math:`\hat x_i = x_{i+\tau}`, indices clamped to the clip
    (the edge frame repeats). To shift without repeats, sample ``T + max(tau)`` frames and crop.

    Shape:
        clips: (B, ..., T, ...) with time at ``dim``; tau: int or (B,) ints. Output: as ``clips``.
    """
    t = clips.shape[dim]
    tau = torch.as_tensor(tau, device=clips.device).reshape(-1, 1)        # (B or 1, 1)
    idx = (torch.arange(t, device=clips.device) + tau).clamp(0, t - 1)   # (B or 1, T)
    shape = [1] * clips.dim()
    shape[0], shape[dim] = idx.shape
    return clips.gather(dim, idx.view(shape).expand_as(clips))


def rotate_clip(clips: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """TaCo's rotation: every frame of clip b turned by ``k[b]`` * 90 degrees counter-clockwise
    (4 classes). Frames must be square.

    Shape:
        clips: (B, C, T, S, S); k: (B,) ints. Output: as ``clips``.
    """
    if clips.shape[-1] != clips.shape[-2]:
        raise ValueError(f'rotate_clip needs square frames, got {tuple(clips.shape[-2:])}')
    k = k.to(clips.device).remainder(4).view(-1, 1, 1, 1, 1)
    out = clips
    for r in range(1, 4):
        out = torch.where(k == r, torch.rot90(clips, r, dims=(-2, -1)), out)
    return out


def reverse_clip(clips: torch.Tensor, reverse: torch.Tensor) -> torch.Tensor:
    """TaCo's reversal: clip b played backwards where ``reverse[b]`` (2 classes).

    Shape:
        clips: (B, C, T, H, W); reverse: (B,) bool. Output: as ``clips``.
    """
    return torch.where(reverse.to(clips.device).view(-1, 1, 1, 1, 1), clips.flip(2), clips)


def shuffle_clip(clips: torch.Tensor, shuffle: torch.Tensor, num_segments: int = 4,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """TaCo's shuffle: where ``shuffle[b]``, the ``num_segments`` equal segments of clip b are
    put in a random order other than the original one (2 classes: shuffled or not).

    Shape:
        clips: (B, C, T, H, W), T divisible by ``num_segments``; shuffle: (B,) bool.
        Output: shuffled clips and the segment order (B, num_segments) used for each.
    """
    b, _, t = clips.shape[:3]
    if t % num_segments:
        raise ValueError(f'shuffle_clip: T={t} is not divisible by num_segments={num_segments}')
    device = generator.device if generator is not None else 'cpu'
    order = torch.rand(b, num_segments, generator=generator, device=device).argsort(1)
    identity = torch.arange(num_segments, device=device)
    # a draw that happens to be the identity becomes a rotation of the segments, never a no-op
    order = torch.where((order == identity).all(1, keepdim=True), identity.roll(1), order)
    order = torch.where(shuffle.to(device).view(-1, 1), order, identity).to(clips.device)
    seg = t // num_segments
    frame_idx = (order[:, :, None] * seg + torch.arange(seg, device=clips.device)).flatten(1)
    out = clips.gather(2, frame_idx.view(b, 1, t, 1, 1).expand_as(clips))
    return out, order


def speed_indices(num_frames: int, rate, start=0) -> torch.Tensor:
    """TaCo's speed: frame indices of a clip of ``num_frames`` played ``rate`` times faster,
    ``start + rate * i``.

    Shape:
        rate, start: int or (B,) ints. Output: (num_frames,) or (B, num_frames) int64.
    """
    rate = torch.as_tensor(rate)
    start = torch.as_tensor(start, device=rate.device)
    return start[..., None] + rate[..., None] * torch.arange(num_frames, device=rate.device)


@TRANSFORMS.register_module()
class ClipAugment:
    """Views of uint8 clips with :class:`~mm_ssl.transforms.ViewAugment`'s ops (random resized
    crop + flip, colour jitter, grayscale, blur) drawn once per clip and applied to all its
    frames, optionally followed by spatial local disturbance and optical-flow scaling.

    Args:
        num_views: views returned per clip.
        warp_p, warp_strength: probability and maximum offset (fraction of the side) of
            :func:`local_disturbance`.
        flow_scale_p, flow_scale_range: probability and range of :func:`flow_scale`'s phi
            (OpenCV on the CPU, one clip at a time: slow, off by default).
        **view_kwargs: :class:`ViewAugment` arguments (size, scale, ratio, hflip_p, jitter, ...).

    Shape:
        - Input: uint8 (B, C, T, H, W).
        - Output: list of ``num_views`` uint8 (B, C, T, size, size).
    """

    def __init__(self, num_views: int = 2, warp_p: float = 0.0, warp_strength: float = 0.05,
                 flow_scale_p: float = 0.0, flow_scale_range=(0.5, 2.0), **view_kwargs):
        view_kwargs.setdefault('blur_p', 0.0)
        self.view = ViewAugment(**view_kwargs)
        self.num_views, self.warp_p, self.warp_strength = num_views, warp_p, warp_strength
        self.flow_scale_p, self.flow_scale_range = flow_scale_p, tuple(flow_scale_range)

    def __call__(self, clips: torch.Tensor, generator: torch.Generator | None = None):
        if clips.dtype != torch.uint8 or clips.dim() != 5:
            raise TypeError(f'ClipAugment expects uint8 (B, C, T, H, W) clips, got '
                            f'{clips.dtype} {tuple(clips.shape)}')
        b, c, t, h, w = clips.shape
        n = self.num_views * b
        device = generator.device if generator is not None else 'cpu'
        frames = clips.transpose(1, 2).reshape(b * t, c, h, w)
        params = self.view.sample_params(n, h, w, generator, device)
        # one parameter set per (view, clip), repeated over its frames: row (v*B + b)*T + t
        params = {k: v if k == 'order' else v.repeat_interleave(t, 0) for k, v in params.items()}
        s = self.view.size
        out = self.view.apply(frames, params).view(n, t, c, s, s).transpose(1, 2)  # (nB,C,T,s,s)
        coins = torch.rand(n, 3, generator=generator, device=device)
        if self.warp_p > 0:
            strength = torch.where(coins[:, 0] < self.warp_p, self.warp_strength, 0.0)
            out = local_disturbance(out.float(), strength, generator=generator)
            out = out.round_().clamp_(0, 255).to(torch.uint8)
        if self.flow_scale_p > 0:
            lo, hi = self.flow_scale_range
            phis = lo + (hi - lo) * coins[:, 2]
            out = torch.stack([flow_scale(x, float(phi)) if coin < self.flow_scale_p else x
                               for x, phi, coin in zip(out, phis, coins[:, 1])])
        return list(out.view(self.num_views, b, c, t, s, s).unbind(0))
