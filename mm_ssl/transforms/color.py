"""sRGB <-> CIE L*a*b* (D65 white, 2° observer), exact CIE formulas, batched on any device.

sRGB is linearised with the IEC 61966-2-1 transfer curve, mapped to XYZ with the sRGB primaries'
matrix, divided by the D65 white point and passed through the CIE 1976 cube-root function with
its linear segment below (6/29)^3. ``lab_to_rgb`` inverts each step; colours outside the sRGB
gamut are clipped to [0, 1].

Shape: images are float tensors (..., 3, H, W), RGB in [0, 1]; L in [0, 100], a and b roughly
in [-110, 110].
"""
import torch

# linear sRGB -> XYZ (IEC 61966-2-1), rows X, Y, Z
RGB_TO_XYZ = ((0.4124564, 0.3575761, 0.1804375),
              (0.2126729, 0.7151522, 0.0721750),
              (0.0193339, 0.1191920, 0.9503041))
D65_WHITE = (0.95047, 1.0, 1.08883)
DELTA = 6 / 29


def _apply_matrix(matrix, x: torch.Tensor) -> torch.Tensor:
    """A 3x3 matrix (nested tuples or float64 tensor, converted at x's precision) on channels."""
    m = torch.as_tensor(matrix, dtype=x.dtype, device=x.device)
    return torch.einsum('ij,...jhw->...ihw', m, x)        # (..., 3, H, W)


def _white(x: torch.Tensor) -> torch.Tensor:
    return torch.tensor(D65_WHITE, dtype=x.dtype, device=x.device).view(3, 1, 1)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    r"""sRGB in [0, 1] -> L*a*b*: gamma-decode, linear map to XYZ, then

    .. math::
        L = 116 f(Y/Y_n) - 16,\quad a = 500\,(f(X/X_n) - f(Y/Y_n)),\quad
        b = 200\,(f(Y/Y_n) - f(Z/Z_n))

    with :math:`f(t) = t^{1/3}` above :math:`(6/29)^3` and its linear continuation below.

    Example:
        >>> rgb_to_lab(torch.ones(1, 3, 1, 1)).flatten()   # white: L=100, a=b=0
    """
    if rgb.shape[-3] != 3:
        raise ValueError(f'rgb_to_lab: expected 3 channels at dim -3, got shape {tuple(rgb.shape)}')
    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = _apply_matrix(RGB_TO_XYZ, linear) / _white(rgb)
    f = torch.where(xyz > DELTA ** 3, xyz.clamp_min(DELTA ** 3) ** (1 / 3),
                    xyz / (3 * DELTA ** 2) + 4 / 29)
    fx, fy, fz = f.unbind(-3)
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=-3)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """L*a*b* -> sRGB in [0, 1] (out-of-gamut colours clipped); see the module docstring."""
    L, a, b = lab.unbind(-3)
    fy = (L + 16) / 116
    f = torch.stack([fy + a / 500, fy, fy - b / 200], dim=-3)
    xyz = torch.where(f > DELTA, f ** 3, 3 * DELTA ** 2 * (f - 4 / 29)) * _white(lab)
    linear = _apply_matrix(torch.linalg.inv(torch.tensor(RGB_TO_XYZ, dtype=torch.float64)),
                           xyz).clamp(0, 1)
    return torch.where(linear <= 0.0031308, 12.92 * linear,
                       1.055 * linear.clamp_min(0.0031308) ** (1 / 2.4) - 0.055)
