"""SLidR's superpixel-driven distillation loss (Sautier et al., "Image-to-Lidar Self-Supervised
Distillation for Autonomous Driving Data", CVPR 2022)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mm_ssl.registry import MODELS

from .contrastive import info_nce


def superpixel_pool(features: torch.Tensor, superpixel: torch.Tensor,
                    num_superpixels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of the rows of ``features`` that fall in each superpixel; rows with a negative id
    (a point without a pixel, image padding) are left out.

    Shape:
        - features: (N, D); superpixel: (N,) int64 in [-1, num_superpixels).
        - output: means (num_superpixels, D) (zero for an empty superpixel) and the number of
          rows in each (num_superpixels,).
    """
    inside = superpixel >= 0
    ids, rows = superpixel[inside], features[inside]
    sums = features.new_zeros(num_superpixels, features.shape[1]).index_add_(0, ids, rows)
    counts = torch.bincount(ids, minlength=num_superpixels)
    return sums / counts.clamp(min=1)[:, None].to(sums.dtype), counts


def superpixel_info_nce(point_feats: torch.Tensor, point_superpixel: torch.Tensor,
                        pixel_feats: torch.Tensor, pixel_superpixel: torch.Tensor,
                        temperature: float = 0.07) -> torch.Tensor:
    r"""SLidR's superpixel-driven contrastive loss: point and pixel features,
    L2-normalised, are averaged over each superpixel :math:`s` (the points projecting into it,
    its pixels), and the pooled point feature of a superpixel must pick out the pooled pixel
    feature of the same superpixel among those of all superpixels of the batch,

    .. math::
        \bar p_s = \frac{1}{|P_s|}\sum_{i \in P_s} \frac{f_i}{\|f_i\|}, \quad
        \bar q_s = \frac{1}{|I_s|}\sum_{j \in I_s} \frac{g_j}{\|g_j\|}, \quad
        \mathcal{L} = -\frac{1}{|S|}\sum_{s \in S}
            \log \frac{\exp(\langle \bar p_s, \bar q_s \rangle / \tau)}
                      {\sum_{s' \in S} \exp(\langle \bar p_s, \bar q_{s'} \rangle / \tau)}

    over the superpixels :math:`S` that hold at least one point, with :math:`\langle\cdot,\cdot
    \rangle` the cosine similarity (:func:`info_nce` normalises the pooled vectors; SLidR's
    code takes the dot product of the un-normalised means). τ = 0.07 in the paper.

    Shape:
        - point_feats: (N, D); point_superpixel: (N,) int64 id of the superpixel each point
          projects into, -1 for points that take no part (no pixel, no feature).
        - pixel_feats: (M, D); pixel_superpixel: (M,) int64, -1 for padding. Ids are unique over
          the batch (a superpixel of frame 1 never shares an id with one of frame 0).
        - output: scalar.

    Example:
        >>> loss = superpixel_info_nce(points, point_ids, pixels.flatten(0, 2),
        ...                            pixel_ids.flatten(), temperature=0.07)
    """
    num = int(torch.cat([point_superpixel, pixel_superpixel]).max()) + 1
    point_mean, point_count = superpixel_pool(F.normalize(point_feats, dim=1), point_superpixel,
                                              num)
    pixel_mean, pixel_count = superpixel_pool(F.normalize(pixel_feats, dim=1), pixel_superpixel,
                                              num)
    used = (point_count > 0) & (pixel_count > 0)
    return info_nce(point_mean[used], pixel_mean[used], temperature=temperature)


@MODELS.register_module()
class SuperpixelInfoNCELoss(nn.Module):
    """Module form of :func:`superpixel_info_nce` for configs:
    ``dict(type='SuperpixelInfoNCELoss', temperature=0.07)``."""

    def __init__(self, temperature: float = 0.07):
        super().__init__()
        self.temperature = temperature

    def forward(self, point_feats, point_superpixel, pixel_feats, pixel_superpixel):
        return superpixel_info_nce(point_feats, point_superpixel, pixel_feats, pixel_superpixel,
                                   self.temperature)
