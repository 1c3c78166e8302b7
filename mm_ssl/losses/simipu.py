"""SimIPU's two losses (Li et al., "SimIPU: Simple 2D Image and 3D Point Cloud Unsupervised
Pre-Training for Spatial-Aware Visual Representations", AAAI 2022), batched over frames."""
import torch
import torch.nn as nn

from mm_ssl.ops.matching import match_points
from mm_ssl.ops.projection import project_into_image, sample_at_pixels
from mm_ssl.registry import MODELS

from .contrastive import info_nce


def intra_modal_loss(feats_a: list[torch.Tensor], feats_b: list[torch.Tensor],
                     xyz_a: list[torch.Tensor] | None = None,
                     xyz_b_in_a: list[torch.Tensor] | None = None,
                     pairs: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
                     max_distance: float = 0.5, temperature: float = 0.07) -> torch.Tensor:
    r"""Point-level InfoNCE between two augmented views of each cloud (SimIPU eq. 2):

    .. math::
        \mathcal{L}_{intra} = -\frac{1}{P}\sum_{(i,j)} \log
        \frac{\exp(f^B_j \cdot f^A_i / \tau)}{\sum_{k} \exp(f^B_j \cdot f^A_k / \tau)}

    over the matched pairs (i, j) of all frames; every other matched view-A point of the batch is
    a negative. ``pairs[f] = (index into A, index into B)`` are given when the correspondence is
    known (view B is a permutation of view A's points: exact, no matching), else found by
    Hungarian matching of A against B's points mapped back into A's frame, gated by
    ``max_distance``.
    View A is the key: detach it (or use a momentum encoder) in the caller as the method needs.

    Shape:
        - feats_a[f]: (N_f, D); feats_b[f]: (M_f, D); xyz_a[f]: (N_f, 3); xyz_b_in_a[f]: (M_f, 3).
        - pairs[f]: two (P_f,) int64 tensors.
        - output: scalar.
    """
    queries, keys = [], []
    for f, (fa, fb) in enumerate(zip(feats_a, feats_b)):
        if pairs is not None:
            ia, ib = pairs[f]
        else:
            ia, ib = match_points(xyz_a[f], xyz_b_in_a[f], max_distance)
        queries.append(fb[ib])
        keys.append(fa[ia])
    return info_nce(torch.cat(queries), torch.cat(keys), temperature=temperature)


def cross_modal_loss(point_feats: list[torch.Tensor], xyz: list[torch.Tensor],
                     pixel_feature_maps: torch.Tensor, lidar2img: torch.Tensor,
                     image_hw: tuple[int, int], valid_hw: list[tuple[int, int]] | None = None,
                     temperature: float = 0.07) -> torch.Tensor:
    r"""2D-3D InfoNCE (SimIPU eq. 4): the image feature at the pixel a LiDAR point projects to
    is the query, that point's feature its positive key, the other points of the batch negatives.

    Only points with positive depth that land inside the image form pairs (SimIPU's official
    code pairs the others with zero features). Neither side is detached, so both projection
    heads learn (in the official code the point-side head gets no gradient).

    Shape:
        - point_feats[f]: (N_f, D); xyz[f]: (N_f, 3) in the frame ``lidar2img`` expects.
        - pixel_feature_maps: (F, D, h, w) for images of size ``image_hw`` (any stride).
        - lidar2img: (F, 4, 4).
        - valid_hw[f]: the unpadded size of image f (default ``image_hw``).
        - output: scalar.
    """
    queries, keys = [], []
    for f, (feats, points) in enumerate(zip(point_feats, xyz)):
        uv, _, valid = project_into_image(points, lidar2img[f],
                                          valid_hw[f] if valid_hw else image_hw)
        queries.append(sample_at_pixels(pixel_feature_maps[f], uv[valid], image_hw))
        keys.append(feats[valid])
    return info_nce(torch.cat(queries), torch.cat(keys), temperature=temperature)


@MODELS.register_module()
class SimIPULoss(nn.Module):
    r"""SimIPU's objective, :math:`w_{intra}\mathcal{L}_{intra} + w_{cross}\mathcal{L}_{cross}`
    (:func:`intra_modal_loss`, :func:`cross_modal_loss`; the paper weighs them 1:1), for configs:
    ``dict(type='SimIPULoss', temperature=0.07)``. Returns the two weighted terms.

    Example:
        >>> criterion = SimIPULoss(temperature=0.07)
        >>> losses = criterion(intra=dict(feats_a=keys, feats_b=queries, pairs=pairs),
        ...                    cross=dict(point_feats=points, xyz=xyz, pixel_feature_maps=maps,
        ...                               lidar2img=lidar2img, image_hw=(H, W)))
        >>> sorted(losses)
        ['loss_cross', 'loss_intra']
    """

    def __init__(self, temperature: float = 0.07, intra_weight: float = 1.0,
                 cross_weight: float = 1.0):
        super().__init__()
        self.temperature, self.intra_weight, self.cross_weight = \
            temperature, intra_weight, cross_weight

    def forward(self, intra: dict, cross: dict) -> dict:
        return dict(
            loss_intra=self.intra_weight * intra_modal_loss(**intra, temperature=self.temperature),
            loss_cross=self.cross_weight * cross_modal_loss(**cross, temperature=self.temperature))
