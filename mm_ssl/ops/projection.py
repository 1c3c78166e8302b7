"""LiDAR points to image pixels, and image features at those pixels (SimIPU's 2D-3D pairs)."""
import torch
import torch.nn.functional as F


def project_points(xyz: torch.Tensor, lidar2img: torch.Tensor, image_hw: tuple[int, int],
                   min_depth: float = 1e-3) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pixel coordinates of LiDAR points: ``lidar2img @ [x y z 1]`` divided by depth, where
    ``lidar2img = P2 · R0_rect · Tr_velo_to_cam`` (with any resize / flip of the image folded in).

    A point is valid only with positive depth and inside the image: unlike SimIPU's official
    code, points behind the camera or outside the frame must not be paired with a pixel.

    Shape:
        - xyz: (N, 3); lidar2img: (4, 4).
        - output: uv (N, 2) in pixels (x right, y down), depth (N,), valid (N,) bool.
    """
    homo = torch.cat([xyz, torch.ones_like(xyz[:, :1])], dim=1)           # (N, 4)
    cam = homo @ lidar2img.to(xyz.dtype).T                                 # (N, 4)
    depth = cam[:, 2]
    uv = cam[:, :2] / depth.clamp(min=min_depth).unsqueeze(1)
    h, w = image_hw
    valid = (depth > min_depth) & (uv[:, 0] >= 0) & (uv[:, 0] <= w - 1) \
        & (uv[:, 1] >= 0) & (uv[:, 1] <= h - 1)
    return uv, depth, valid


def sample_at_pixels(feature_map: torch.Tensor, uv: torch.Tensor,
                     image_hw: tuple[int, int]) -> torch.Tensor:
    """Bilinear sample of a feature map of an image at pixel positions of that image. The map
    may have any stride: pixel centres are aligned (``align_corners=False``), so a map of
    stride s covers the image exactly.

    Shape:
        - feature_map: (C, h, w); uv: (N, 2) pixels of an (H, W) image.
        - output: (N, C).
    """
    h, w = image_hw
    grid = torch.stack([(uv[:, 0] + 0.5) / w * 2 - 1, (uv[:, 1] + 0.5) / h * 2 - 1], dim=1)
    out = F.grid_sample(feature_map[None], grid[None, None].to(feature_map.dtype),
                        mode='bilinear', align_corners=False)              # (1, C, 1, N)
    return out[0, :, 0].T
