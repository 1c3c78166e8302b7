"""Occupancy-MAE's objective (Min et al., "Occupancy-MAE: Self-supervised Pre-training Large-scale
LiDAR Point Clouds with Masked Occupancy Autoencoders", IEEE T-IV 2023): is each cell of the scene
occupied by a LiDAR point, predicted from the few voxels left after masking."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mm_ssl.registry import MODELS


def occupancy_targets(coords: torch.Tensor, batch_size: int, target_shape: tuple[int, int, int],
                      stride: int) -> torch.Tensor:
    """The dense occupancy of a voxelised batch on a grid ``stride`` times coarser per axis: a
    cell is occupied (1) when any input voxel inside it is, else empty (0). Voxels past
    ``target_shape`` (the padding z layer of OpenPCDet's grid) are left out.

    Shape:
        - coords: (M, 4) int (b, z, y, x) of the non-empty input voxels, all of them (visible
          and masked).
        - output: (batch_size, *target_shape) float32 of 0 / 1.
    """
    cells = torch.div(coords[:, 1:].long(), stride, rounding_mode='floor')
    shape = torch.as_tensor(target_shape, device=coords.device)
    inside = (cells < shape).all(1)
    target = torch.zeros(batch_size, *target_shape, device=coords.device)
    b, (z, y, x) = coords[inside, 0].long(), cells[inside].T
    target[b, z, y, x] = 1.0
    return target


def occupancy_bce(logits: torch.Tensor, target: torch.Tensor,
                  empty_weight: float = 1.0) -> torch.Tensor:
    r"""Binary cross-entropy of occupancy logits, class-balanced: the mean over occupied cells
    :math:`O` plus ``empty_weight`` times the mean over empty cells :math:`E`,

    .. math::
        \mathcal{L} = -\frac{1}{|O|}\sum_{c \in O} \log \sigma(s_c)
                      - \frac{w_e}{|E|}\sum_{c \in E} \log\left(1 - \sigma(s_c)\right)

    Every empty cell is used (no sampling), but the two classes weigh the same. The paper (and
    its released code) takes the plain mean over all cells; on a LiDAR grid under 1% of the
    cells are occupied, so that mean is nearly all easy empty space: predicting "empty"
    everywhere already reaches a small loss, and the occupied cells, where the shape of the
    scene is, move it little. Balancing keeps their share of the gradient at one half.
    A class with no cell contributes 0.

    Shape:
        - logits, target: same shape (e.g. (B, Z, Y, X)); target 0 / 1.
        - output: scalar.

    Example:
        >>> target = occupancy_targets(coords, batch_size=2, target_shape=(10, 160, 128),
        ...                            stride=4)
        >>> loss = occupancy_bce(decoder_logits, target)
    """
    per_cell = F.binary_cross_entropy_with_logits(logits, target, reduction='none')
    occupied = target > 0.5
    loss = logits.new_zeros(())
    if occupied.any():
        loss = loss + per_cell[occupied].mean()
    if not occupied.all():
        loss = loss + empty_weight * per_cell[~occupied].mean()
    return loss


@MODELS.register_module()
class OccupancyLoss(nn.Module):
    """Module form of :func:`occupancy_bce` for configs:
    ``dict(type='OccupancyLoss', empty_weight=1.0)``."""

    def __init__(self, empty_weight: float = 1.0):
        super().__init__()
        self.empty_weight = empty_weight

    def forward(self, logits, target):
        return occupancy_bce(logits, target, self.empty_weight)
