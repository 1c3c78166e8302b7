"""Point correspondences between two augmented views of a cloud (SimIPU's intra-modal pairs)."""
import numpy as np
import torch
from scipy.optimize import linear_sum_assignment


def match_points(xyz_a: torch.Tensor, xyz_b: torch.Tensor,
                 max_distance: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimum-cost bipartite matching of two point sets on Euclidean distance (Hungarian
    algorithm, ``scipy.optimize.linear_sum_assignment``), as SimIPU pairs the points of view A
    with view-B points mapped back into A's frame. Pairs farther apart than ``max_distance`` are
    dropped, so points without a true partner (re-sampled away) do not become false positives.

    Shape:
        - xyz_a: (N, 3); xyz_b: (M, 3), in the same frame.
        - output: index tensors (P,) into a and into b, P <= min(N, M), sorted by a.

    Example:
        >>> ia, ib = match_points(view_a_xyz, inverse(view_b_xyz), max_distance=0.5)
    """
    cost = torch.cdist(xyz_a.detach().double(), xyz_b.detach().double()).cpu().numpy()
    rows, cols = linear_sum_assignment(cost)
    if max_distance is not None:
        keep = cost[rows, cols] <= max_distance
        rows, cols = rows[keep], cols[keep]
    device = xyz_a.device
    return (torch.as_tensor(rows.astype(np.int64), device=device),
            torch.as_tensor(cols.astype(np.int64), device=device))
