"""Colour-space conversion of image tensors."""
import torch

# sRGB primaries -> CIE XYZ under D65 (IEC 61966-2-1), and the D65 reference white
RGB_TO_XYZ = ((0.4124564, 0.3575761, 0.1804375),
              (0.2126729, 0.7151522, 0.0721750),
              (0.0193339, 0.1191920, 0.9503041))
D65_WHITE = (0.95047, 1.0, 1.08883)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    r"""sRGB in [0, 1] to CIE L*a*b* (D65): gamma-decode, linear map to XYZ, then

    .. math::
        L = 116 f(Y/Y_n) - 16,\quad a = 500\,(f(X/X_n) - f(Y/Y_n)),\quad
        b = 200\,(f(Y/Y_n) - f(Z/Z_n))

    with :math:`f(t) = t^{1/3}` above :math:`(6/29)^3` and its linear continuation below.

    Shape:
        - rgb: float (..., 3, H, W) in [0, 1]; output: (..., 3, H, W) with L in [0, 100] and
          a, b roughly in [-128, 127].

    Example:
        >>> rgb_to_lab(torch.ones(1, 3, 1, 1)).flatten()   # white: L=100, a=b=0
    """
    if rgb.shape[-3] != 3:
        raise ValueError(f'rgb_to_lab: expected 3 channels at dim -3, got shape {tuple(rgb.shape)}')
    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    matrix = torch.tensor(RGB_TO_XYZ, dtype=rgb.dtype, device=rgb.device)
    white = torch.tensor(D65_WHITE, dtype=rgb.dtype, device=rgb.device)
    xyz = torch.einsum('ij,...jhw->...ihw', matrix / white[:, None], linear)  # (..., 3, H, W)
    delta = 6 / 29
    f = torch.where(xyz > delta ** 3, xyz.clamp(min=delta ** 3) ** (1 / 3),
                    xyz / (3 * delta ** 2) + 4 / 29)
    fx, fy, fz = f.unbind(-3)
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=-3)
