"""LiDAR points to image pixels, and image features at those pixels (SimIPU's 2D-3D pairs)."""
import torch
import torch.nn.functional as F


def project_points(xyz, lidar2img):
    """Pixel coordinates and depth of points under a 4x4 ``lidar2img`` = ``P · R0_rect ·
    Tr_velo_to_cam`` (with any resize / flip of the image folded in); numpy or torch, same dtype
    for both arguments. Depth <= 0 means behind the camera (uv is then meaningless).

    Shape:
        xyz: (N, 3); returns uv (N, 2) in pixels (x right, y down, centres at integers),
        depth (N,).
    """
    cam = xyz @ lidar2img[:3, :3].T + lidar2img[:3, 3]
    depth = cam[:, 2]
    return cam[:, :2] / depth[:, None], depth


MIN_DEPTH = 1e-3   # metres in front of the camera: nearer points have no stable pixel


def seen_by_camera(uv, depth, image_hw: tuple[int, int], min_depth: float = MIN_DEPTH):
    """The one rule for "this point has a pixel", shared by SimIPU's 2D-3D pairs and the
    ``velodyne_reduced`` clouds of the info files: in front of the camera and projecting between
    the first and the last pixel centre, ``0 <= u <= W - 1``, ``0 <= v <= H - 1``, where bilinear
    sampling reads only real pixels. numpy or torch.

    Shape:
        uv: (N, 2), depth: (N,); returns (N,) bool.
    """
    h, w = image_hw
    u, v = uv[:, 0], uv[:, 1]
    return (depth > min_depth) & (u >= 0) & (u <= w - 1) & (v >= 0) & (v <= h - 1)


def project_into_image(xyz: torch.Tensor, lidar2img: torch.Tensor, image_hw: tuple[int, int],
                       min_depth: float = MIN_DEPTH):
    """:func:`project_points` plus which points are seen (:func:`seen_by_camera`). Unlike
    SimIPU's official code, points behind the camera or outside the frame must not be paired
    with a pixel.

    Shape:
        xyz: (N, 3); lidar2img: (4, 4); returns uv (N, 2), depth (N,), valid (N,) bool.
    """
    uv, depth = project_points(xyz, lidar2img.to(xyz.dtype))
    return uv, depth, seen_by_camera(uv, depth, image_hw, min_depth)


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
