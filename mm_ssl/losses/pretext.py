"""Losses of the pretext tasks: classification of a transformation (rotation, relative
position, jigsaw), of colours (colorization) and pixel reconstruction (inpainting)."""
import torch
import torch.nn.functional as F

from mm_ssl.errors import ConfigError


def ab_cells_per_axis(bin_size: float = 10.0, ab_max: float = 110.0) -> int:
    """Number of cells of :func:`ab_bins` along a* (and b*): there are its square classes."""
    n = 2 * ab_max / bin_size
    if n != int(n) or n < 1:
        raise ConfigError(f'ab bins: 2 * ab_max / bin_size must be a positive integer, got '
                          f'2 * {ab_max} / {bin_size}')
    return int(n)


def ab_bins(ab: torch.Tensor, bin_size: float = 10.0, ab_max: float = 110.0) -> torch.Tensor:
    """Quantise a*b* on a square grid of ``bin_size`` over [-ab_max, ab_max)^2, as Zhang et al.
    2016 (§2.1; they keep the 313 in-gamut cells, here every cell of the grid is a class). Values
    outside the range fall into the border cells.

    Shape:
        - ab: (..., 2, H, W) float.
        - output: (..., H, W) int64 in [0, n^2), n = :func:`ab_cells_per_axis`;
          index = i_a * n + i_b.
    """
    n = ab_cells_per_axis(bin_size, ab_max)
    cells = ((ab + ab_max) / bin_size).floor().clamp(0, n - 1).long()            # (..., 2, H, W)
    return cells.select(-3, 0) * n + cells.select(-3, 1)


def pretext_classification(logits: torch.Tensor, labels: torch.Tensor) -> dict:
    r"""Cross-entropy of a pretext classifier, :math:`-\frac1N \sum_i \log \mathrm{softmax}
    (s_i)_{y_i}`, as in RotNet (Gidaris et al. 2018, eq. 1), relative position (Doersch et al.
    2015) and jigsaw (Noroozi & Favaro 2016), with the pretext accuracy for the log.

    Shape:
        - logits: (N, K); labels: (N,) in [0, K).
        - output: ``dict(loss=scalar, acc_pretext=scalar in [0, 100])``.

    Example:
        >>> out = pretext_classification(torch.randn(8, 4), torch.randint(4, (8,)))
    """
    accuracy = (logits.argmax(1) == labels).float().mean() * 100
    return dict(loss=F.cross_entropy(logits, labels), acc_pretext=accuracy.detach())


def colorization_loss(logits: torch.Tensor, ab: torch.Tensor, bin_size: float = 10.0,
                      ab_max: float = 110.0) -> torch.Tensor:
    r"""Colorization as classification (Zhang et al. 2016, "Colorful Image Colorization", eq. 2):
    the multinomial cross-entropy between predicted colour-bin probabilities
    :math:`\hat{Z}` and the quantised ground truth :math:`Z`,

    .. math::
        \mathcal{L} = -\frac{1}{HW} \sum_{h,w} \sum_q Z_{h,w,q} \log \hat{Z}_{h,w,q}

    with :math:`Z` the one-hot a*b* bin of each pixel (:func:`ab_bins`). Not done: the paper's
    soft-encoding over 5 neighbouring bins and its class rebalancing weights :math:`v(Z)`.

    Shape:
        - logits: (B, Q, H, W), Q = (2 ab_max / bin_size)^2.
        - ab: (B, 2, H, W), the a*b* channels of the image.
        - output: scalar, mean over pixels.

    Example:
        >>> loss = colorization_loss(torch.randn(2, 484, 8, 8), 50 * torch.randn(2, 2, 8, 8))
    """
    return F.cross_entropy(logits, ab_bins(ab, bin_size, ab_max))


def masked_mse(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    r"""Context-encoder reconstruction loss (Pathak et al. 2016, "Context Encoders", eq. 1):

    .. math::
        \mathcal{L}_{rec} = \big\| \hat{M} \odot \big(x - F((1 - \hat{M}) \odot x)\big) \big\|_2^2

    averaged over the masked elements: only the dropped region is reconstructed.

    Shape:
        - prediction, target: (B, C, H, W).
        - mask: (B, 1, H, W) bool, True where the input was dropped.
        - output: scalar.

    Example:
        >>> mask = torch.zeros(2, 1, 8, 8, dtype=torch.bool); mask[..., 2:6, 2:6] = True
        >>> loss = masked_mse(torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8), mask)
    """
    weight = mask.expand_as(target).to(prediction.dtype)
    return ((prediction - target) ** 2 * weight).sum() / weight.sum().clamp_min(1)
