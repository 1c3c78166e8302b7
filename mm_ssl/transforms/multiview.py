"""Multi-view augmentation of uint8 image tensors, batched on any device.

Recipes: SimCLR (Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual
Representations", appendix A) draws two views per image with random resized crop + horizontal
flip, colour jitter (p=0.8), random grayscale (p=0.2) and Gaussian blur (kernel 10% of the image,
sigma in [0.1, 2]); BYOL (Grill et al. 2020, "Bootstrap Your Own Latent", appendix B) makes the
pair asymmetric (blur p=1.0 / 0.1, solarize p=0.0 / 0.2). Multi-crop adds small local views.

Each op follows its ``torchvision.transforms.v2.functional`` definition, vectorised over the batch
with per-sample parameters, so all views of a batch cost a few tensor ops instead of a Python loop
over PIL images. The functional helpers take float32 (N, C, H, W) images in [0, 255] and (N,)
parameters; values are clamped after each op like torchvision but rounded to uint8 only once, at
the end (torchvision truncates after every op, so single ops agree with it to 1 level).

Single-channel images (C=1): grayscale, saturation and hue are no-ops (as in torchvision and PIL);
contrast blends with the mean of the single channel.

Example::

    >>> mv = MultiViewAugment(views=[dict(num=2, size=32, scale=(0.14, 1.0)),
    ...                              dict(num=6, size=16, scale=(0.05, 0.14))])
    >>> views = mv(torch.randint(0, 256, (256, 3, 32, 32), dtype=torch.uint8),
    ...            generator=torch.Generator().manual_seed(0))
    >>> len(views), views[0].shape, views[2].shape
    (8, torch.Size([256, 3, 32, 32]), torch.Size([256, 3, 16, 16]))
"""
import math

import torch
import torch.nn.functional as F

from mm_ssl.registry import TRANSFORMS

__all__ = ['ViewAugment', 'MultiViewAugment', 'sample_crop_boxes', 'resized_crop',
           'adjust_brightness', 'adjust_contrast', 'adjust_saturation', 'adjust_hue',
           'rgb_to_grayscale', 'gaussian_blur', 'solarize']

LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2, as torchvision and PIL


def sample_crop_boxes(n, height, width, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), generator=None,
                      device='cpu', tries=10):
    """RandomResizedCrop boxes for ``n`` samples of a (height, width) image, vectorised.

    Like ``torchvision.transforms.RandomResizedCrop.get_params``: area fraction uniform in
    ``scale``, aspect ratio log-uniform in ``ratio``, integer pixel box; of ``tries`` candidates
    per sample the first that fits wins, else a centre crop with the aspect ratio clamped into
    ``ratio``.

    Returns:
        float32 (n, 4) tensor of (top, left, h, w) in input pixels.
    """
    kw = dict(generator=generator, device=device)
    area = height * width * (scale[0] + (scale[1] - scale[0]) * torch.rand(n, tries, **kw))
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(log_lo + (log_hi - log_lo) * torch.rand(n, tries, **kw))
    w, h = (area * aspect).sqrt().round(), (area / aspect).sqrt().round()
    fits = (w >= 1) & (w <= width) & (h >= 1) & (h <= height)
    first = fits.int().argmax(1, keepdim=True)  # argmax returns the first maximum
    w, h, fits = w.gather(1, first)[:, 0], h.gather(1, first)[:, 0], fits.any(1)
    if width / height < min(ratio):
        fw, fh = width, round(width / min(ratio))
    elif width / height > max(ratio):
        fw, fh = round(height * max(ratio)), height
    else:
        fw, fh = width, height
    w, h = torch.where(fits, w, fw), torch.where(fits, h, fh)
    u = torch.rand(n, 2, **kw)
    # min() guards against float32 rounding u * m up to m
    top = torch.where(fits, torch.minimum((u[:, 0] * (height - h + 1)).floor(), height - h),
                      (height - fh) // 2)
    left = torch.where(fits, torch.minimum((u[:, 1] * (width - w + 1)).floor(), width - w),
                       (width - fw) // 2)
    return torch.stack([top, left, h, w], 1)


def resized_crop(images, boxes, size, flip=None):
    """Crop each box and resize it to (size, size) bilinearly, mirrored where ``flip``, in one
    ``grid_sample``; equals torchvision's ``resized_crop(antialias=False)`` + ``horizontal_flip``.

    ``boxes`` may hold ``num`` boxes per image, view-major (row ``v * B + b`` crops image ``b``).

    Shape:
        images: float (B, C, H, W); boxes: (num * B, 4) as (top, left, h, w); flip: bool (num * B,).
        Output: float (num * B, C, size, size).
    """
    B, C, H, W = images.shape
    num = boxes.shape[0] // B
    top, left, h, w = boxes.to(images.dtype).unbind(1)
    j = torch.arange(size, device=images.device, dtype=images.dtype) + 0.5
    # source pixel of each output pixel as interpolate(align_corners=False) computes it on the
    # cropped image, clamped to the box so that (unlike a plain affine grid) no pixel outside it
    # leaks in at the borders
    xs = left[:, None] + torch.minimum((j * w[:, None] / size - 0.5).clamp(min=0), w[:, None] - 1)
    ys = top[:, None] + torch.minimum((j * h[:, None] / size - 0.5).clamp(min=0), h[:, None] - 1)
    if flip is not None:
        xs = torch.where(flip[:, None], xs.flip(1), xs)
    gx, gy = (2 * xs + 1) / W - 1, (2 * ys + 1) / H - 1  # pixel -> grid units (align_corners=False)
    grid = torch.stack(torch.broadcast_tensors(gx[:, None, :], gy[:, :, None]), -1)
    # the views of an image share its pixels: stack them along the grid's height rather than
    # copying the input num times
    grid = grid.view(num, B, size, size, 2).transpose(0, 1).reshape(B, num * size, size, 2)
    out = F.grid_sample(images, grid, mode='bilinear', padding_mode='border', align_corners=False)
    return out.view(B, C, num, size, size).permute(2, 0, 1, 3, 4).reshape(num * B, C, size, size)


def _per_sample(f):
    return f.view(-1, 1, 1, 1)


def _blend(a, b, f):
    f = _per_sample(f)
    return (f * a + (1 - f) * b).clamp(0, 255)


def rgb_to_grayscale(x):
    """Luma (N, 1, H, W) of RGB ``x`` (N, 3, H, W); a single-channel ``x`` is returned as is."""
    if x.shape[1] == 1:
        return x
    return (x * x.new_tensor(LUMA).view(1, 3, 1, 1)).sum(1, keepdim=True)


def adjust_brightness(x, factor):
    return (x * _per_sample(factor)).clamp(0, 255)


def adjust_contrast(x, factor):
    return _blend(x, rgb_to_grayscale(x).mean((1, 2, 3), keepdim=True), factor)


def adjust_saturation(x, factor):
    return x if x.shape[1] == 1 else _blend(x, rgb_to_grayscale(x), factor)


def adjust_hue(x, factor):
    """Rotate the hue by ``factor`` (fraction of a turn, in [-0.5, 0.5]) in HSV space."""
    if x.shape[1] == 1:
        return x
    r, g, b = x.unbind(1)
    v = x.amax(1)
    chroma = v - x.amin(1)
    # hue * chroma per sector; grey pixels (chroma 0) get hue 0, any hue would do
    h = torch.where(v == r, g - b, torch.where(v == g, b - r + 2 * chroma, r - g + 4 * chroma))
    h = (h / (6 * chroma.clamp(min=1e-6)) + factor.view(-1, 1, 1)).remainder_(1.0)
    # closed-form HSV -> RGB: channel n in (R, G, B) = (5, 3, 1) is v - chroma * clamp(min(k, 4-k))
    k = (x.new_tensor([5.0, 3.0, 1.0]).view(1, 3, 1, 1) + 6 * h[:, None]).remainder_(6)
    return v[:, None] - chroma[:, None] * torch.minimum(k, 4 - k).clamp_(0, 1)


def gaussian_blur(x, sigma, kernel_size):
    """Separable Gaussian blur with per-sample ``sigma`` (N,), reflect padding, as one grouped
    convolution per axis over all N * C channels."""
    n, c, H, W = x.shape
    t = torch.arange(kernel_size, device=x.device, dtype=x.dtype) - (kernel_size - 1) / 2
    k = torch.exp(-0.5 * (t / sigma.to(x.dtype)[:, None]) ** 2)
    k = (k / k.sum(1, keepdim=True)).repeat_interleave(c, 0)
    p = kernel_size // 2
    y = F.pad(x.reshape(1, n * c, H, W), (p, p, p, p), mode='reflect')
    y = F.conv2d(y, k.view(n * c, 1, 1, kernel_size), groups=n * c)
    y = F.conv2d(y, k.view(n * c, 1, kernel_size, 1), groups=n * c)
    return y.view(n, c, H, W)


def solarize(x, threshold=128.0):
    return torch.where(x >= threshold, 255 - x, x)


def _where(mask, a, b):
    return torch.where(_per_sample(mask), a, b)


@TRANSFORMS.register_module()
class ViewAugment:
    """One random view per image: random resized crop + flip, colour jitter, grayscale, Gaussian
    blur, solarize (in that order, each applied with its probability per sample).

    Args:
        size: output side length.
        scale, ratio: crop area fraction and aspect ratio (w / h) ranges, as RandomResizedCrop.
        hflip_p: horizontal flip probability.
        jitter: (brightness, contrast, saturation, hue) strengths as in ColorJitter: factors
            uniform in [max(0, 1 - s), 1 + s], the hue shift in [-hue, hue]; 0 disables one.
        jitter_p: colour jitter probability. The four adjustments run in a random order drawn
            once per call (torchvision's ColorJitter draws one per image).
        gray_p: probability of converting to grayscale (kept with C channels).
        blur_p, blur_sigma: Gaussian blur probability and sigma range; the kernel size is about
            10% of ``size``, odd, at least 3, as in SimCLR.
        solarize_p: probability of inverting pixels >= 128.

    Randomness comes from ``generator`` (the global CPU RNG if None); parameters are drawn on the
    generator's device and moved to the images', so a CPU generator can drive CUDA images.

    Shape:
        - Input: uint8 (B, C, H, W), or (C, H, W) for one image; C in {1, 3}, any H, W.
        - Output: uint8 (B, C, size, size), or (C, size, size).

    Example::

        >>> aug = ViewAugment(size=32)
        >>> aug(torch.zeros(8, 3, 40, 40, dtype=torch.uint8)).shape
        torch.Size([8, 3, 32, 32])
    """

    def __init__(self, size=224, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), hflip_p=0.5,
                 jitter=(0.4, 0.4, 0.2, 0.1), jitter_p=0.8, gray_p=0.2, blur_p=0.5,
                 blur_sigma=(0.1, 2.0), solarize_p=0.0):
        self.size, self.scale, self.ratio = size, tuple(scale), tuple(ratio)
        self.jitter, self.blur_sigma = tuple(jitter), tuple(blur_sigma)
        self.probs = dict(flip=hflip_p, jitter=jitter_p, gray=gray_p, blur=blur_p,
                          solarize=solarize_p)
        self.kernel_size = max(3, int(0.1 * size) // 2 * 2 + 1)

    def sample_params(self, n, height, width, generator=None, device='cpu'):
        """Draw the parameters of ``n`` views of (height, width) images.

        Returns a dict of per-sample tensors with leading dim ``n``: ``box`` (n, 4), ``flip``,
        ``jitter``, ``gray``, ``blur``, ``solarize`` (bool masks), ``factors`` (n, 4) jitter
        factors (brightness, contrast, saturation, hue), ``sigma`` (n,); plus ``order`` (4,),
        the jitter op order shared by the call.
        """
        kw = dict(generator=generator, device=device)
        p = dict(box=sample_crop_boxes(n, height, width, self.scale, self.ratio, **kw))
        coins = torch.rand(n, len(self.probs), **kw)
        p.update({k: coins[:, i] < prob for i, (k, prob) in enumerate(self.probs.items())})
        b, c, s, hue = self.jitter
        lo = torch.tensor([max(0.0, 1 - b), max(0.0, 1 - c), max(0.0, 1 - s), -hue], device=device)
        hi = torch.tensor([1 + b, 1 + c, 1 + s, hue], device=device)
        p['factors'] = lo + (hi - lo) * torch.rand(n, 4, **kw)
        s0, s1 = self.blur_sigma
        p['sigma'] = s0 + (s1 - s0) * torch.rand(n, **kw)
        p['order'] = torch.randperm(4, **kw)
        return p

    def apply(self, images, params):
        """Augment uint8 ``images`` (B, C, H, W) with explicit ``params`` (from ``sample_params``)
        for ``num * B`` views, view-major; returns uint8 (num * B, C, size, size)."""
        p = {k: v if k == 'order' else v.to(images.device) for k, v in params.items()}
        x = resized_crop(images.float(), p['box'], self.size, p['flip'])
        # each op runs on the whole batch and a mask picks its result per sample: no
        # data-dependent shapes, hence no host-device sync on CUDA
        if self.probs['jitter'] > 0:
            y = x
            for i in p['order'].tolist():
                if self.jitter[i] > 0:
                    y = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)[i](
                        y, p['factors'][:, i])
            x = _where(p['jitter'], y, x)
        if self.probs['gray'] > 0:
            x = _where(p['gray'], rgb_to_grayscale(x).expand_as(x), x)
        if self.probs['blur'] > 0:
            x = _where(p['blur'], gaussian_blur(x, p['sigma'], self.kernel_size), x)
        if self.probs['solarize'] > 0:
            x = _where(p['solarize'], solarize(x), x)
        return x.round_().clamp_(0, 255).to(torch.uint8)

    def views(self, images, num=1, generator=None):
        """``num`` independently sampled views of ``images``, as a list of uint8 tensors."""
        if images.dtype != torch.uint8:
            raise TypeError(f'ViewAugment expects uint8 images, got {images.dtype}')
        single = images.dim() == 3
        x = images[None] if single else images
        B, _, H, W = x.shape
        device = generator.device if generator is not None else 'cpu'
        out = self.apply(x, self.sample_params(num * B, H, W, generator, device))
        return [v[0] if single else v for v in out.view(num, B, *out.shape[1:])]

    def __call__(self, images, generator=None):
        return self.views(images, 1, generator)[0]


@TRANSFORMS.register_module()
class MultiViewAugment:
    """Several views per image, each group its own ``ViewAugment``: e.g. SimCLR's symmetric pair
    ``[dict(num=2, size=32)]``, BYOL's asymmetric pair ``[dict(num=1, size=32, blur_p=1.0),
    dict(num=1, size=32, blur_p=0.1, solarize_p=0.2)]``, or multi-crop (2 global + N local).

    Args:
        views: list of dicts, ``ViewAugment`` kwargs plus ``num`` (views in the group, default 1).

    Shape:
        - Input: uint8 (B, C, H, W) or (C, H, W).
        - Output: list of ``sum(num)`` uint8 tensors (B, C, size, size) or (C, size, size), in the
          order of ``views``; every view is sampled independently.
    """

    def __init__(self, views):
        self.groups = [(v.get('num', 1), ViewAugment(**{k: a for k, a in v.items() if k != 'num'}))
                       for v in views]

    def __call__(self, images, generator=None):
        return [v for num, aug in self.groups for v in aug.views(images, num, generator)]
