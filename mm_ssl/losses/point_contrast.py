"""PointContrast's PointInfoNCE (Xie et al., "PointContrast: Unsupervised Pre-training for 3D
Point Cloud Understanding", ECCV 2020, eq. 2) on the per-point features of a voxel encoder.

The loss itself is SimIPU's intra-modal InfoNCE (:func:`~mm_ssl.losses.simipu.intra_modal_loss`);
what PointContrast adds is which pairs enter it (:func:`sample_point_pairs`) and its temperature.
"""
import torch
import torch.nn as nn

from mm_ssl.registry import MODELS

from .simipu import intra_modal_loss


def first_of_each(keys: torch.Tensor) -> torch.Tensor:
    """Index of the first row of every distinct row of ``keys``, in increasing order.

    Shape:
        keys: (P, K) integer; returns (U,) int64, U = the number of distinct rows.
    """
    distinct, group = torch.unique(keys, dim=0, return_inverse=True)
    rows = torch.arange(len(keys), device=keys.device)
    first = torch.full((len(distinct),), len(keys), device=keys.device)
    return first.scatter_reduce_(0, group, rows, 'amin').sort().values


def sample_point_pairs(pairs: list[tuple[torch.Tensor, torch.Tensor]],
                       cells_a: list[torch.Tensor], cells_b: list[torch.Tensor],
                       num_pairs: int = 4096, generator: torch.Generator | None = None
                       ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """PointContrast's sampling of matched pairs, on voxel features.

    PointContrast keeps one match, drawn uniformly, per distinct query voxel, then ``num_pairs``
    (4096) of them drawn uniformly over the whole batch. Here point features are those of the
    voxel holding the point, so two points of one voxel share a feature: a second pair from the
    same view-A voxel would put a copy of a query's positive among its negatives. So after one
    pair per view-B (query) voxel, one per view-A (key) voxel is kept as well; every feature then
    enters the loss once.

    Args:
        pairs: per frame, the candidate matches (index into view A, index into view B).
        cells_a, cells_b: per frame, the voxel (at the feature layer) of each point of the view,
            e.g. :func:`~mm_ssl.models.encoders.voxel_backbone.voxel_cells`.
        num_pairs: pairs kept over all frames together (all when fewer).
        generator: for the random draws.

    Shape:
        - pairs[f]: two (P_f,) int64; cells_a[f]: (N_f, 3); cells_b[f]: (M_f, 3).
        - returns per frame two (Q_f,) int64 with sum Q_f = min(num_pairs, available).
    """
    kept = []
    for (ia, ib), ca, cb in zip(pairs, cells_a, cells_b):
        # a random order makes "the first pair of each voxel" a uniform draw among its pairs
        order = torch.randperm(len(ia), generator=generator).to(ia.device)
        ia, ib = ia[order], ib[order]
        one_per_query = first_of_each(cb[ib])
        ia, ib = ia[one_per_query], ib[one_per_query]
        one_per_key = first_of_each(ca[ia])
        kept.append((ia[one_per_key], ib[one_per_key]))
    sizes = [len(ia) for ia, _ in kept]
    chosen = torch.zeros(sum(sizes), dtype=torch.bool)
    chosen[torch.randperm(sum(sizes), generator=generator)[:num_pairs]] = True
    return [(ia[c.to(ia.device)], ib[c.to(ib.device)])
            for (ia, ib), c in zip(kept, chosen.split(sizes))]


def point_info_nce(feats_a: list[torch.Tensor], feats_b: list[torch.Tensor],
                   pairs: list[tuple[torch.Tensor, torch.Tensor]],
                   cells_a: list[torch.Tensor], cells_b: list[torch.Tensor],
                   num_pairs: int = 4096, temperature: float = 0.4,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    r"""PointInfoNCE (PointContrast eq. 2) over the pairs :func:`sample_point_pairs` draws:

    .. math::
        \mathcal{L} = -\sum_{(i,j) \in P} \frac{1}{|P|} \log
        \frac{\exp(f^B_j \cdot f^A_i / \tau)}{\sum_{(k,\cdot) \in P} \exp(f^B_j \cdot f^A_k / \tau)}

    with L2-normalised features: each view-B point's positive is its match in view A, the view-A
    points of the other sampled pairs of the batch are its negatives. Neither view is detached
    (both go through the same encoder, as in PointContrast). τ = 0.4 and |P| = 4096 are
    PointContrast's ScanNet settings (``nceT``, ``npos``).

    Shape:
        - feats_a[f]: (N_f, D); feats_b[f]: (M_f, D).
        - pairs, cells_a, cells_b: as :func:`sample_point_pairs`.
        - output: scalar.
    """
    sampled = sample_point_pairs(pairs, cells_a, cells_b, num_pairs, generator)
    return intra_modal_loss(feats_a, feats_b, pairs=sampled, temperature=temperature)


@MODELS.register_module()
class PointInfoNCELoss(nn.Module):
    """Module form of :func:`point_info_nce` for configs:
    ``dict(type='PointInfoNCELoss', num_pairs=4096, temperature=0.4)``."""

    def __init__(self, num_pairs: int = 4096, temperature: float = 0.4):
        super().__init__()
        self.num_pairs, self.temperature = num_pairs, temperature

    def forward(self, feats_a, feats_b, pairs, cells_a, cells_b):
        return point_info_nce(feats_a, feats_b, pairs, cells_a, cells_b, self.num_pairs,
                              self.temperature)
