"""Pretext tasks on a 3x3 grid of tiles: relative patch position and jigsaw puzzles.

Both encode every tile separately with the shared encoder and classify a combination of the tile
features. The encoder's features of the whole image (evaluation, export) come from the same
network; the online probe here sees the mean of an image's tile features, which costs nothing.
"""
import torch

from mm_ssl.losses.pretext import pretext_classification
from mm_ssl.registry import MODELS
from mm_ssl.transforms.pretext import (CENTRE, NEIGHBOURS, grid_tiles, jigsaw_permutations,
                                       shuffle_tiles)

from .base import BaseSSL


class _TileTask(BaseSSL):
    """Cuts the first view into 3x3 tiles (``gap`` pixels between them, random placement within
    the cell with ``jitter``) and encodes them: :meth:`encode_tiles` -> (B, 9, D)."""

    def __init__(self, encoder: dict, gap: int = 2, jitter: bool = True, **kwargs):
        super().__init__(encoder, **kwargs)
        self.gap, self.jitter = gap, jitter

    def encode_tiles(self, images: torch.Tensor) -> torch.Tensor:
        tiles = grid_tiles(images, 3, self.gap, self.jitter)        # (B, 9, C, t, t)
        return self.encoder(tiles.flatten(0, 1)).unflatten(0, tiles.shape[:2])   # (B, 9, D)


@MODELS.register_module()
class RelativePosition(_TileTask):
    """Context prediction (Doersch et al. 2015, "Unsupervised Visual Representation Learning by
    Context Prediction"): given the features of the centre tile and of one of its 8 neighbours,
    concatenated, the ``head`` (``out_dim`` set to 8) predicts where the neighbour lies. Every
    image contributes all 8 pairs; each tile is encoded once. Loss: cross-entropy.
    """

    def __init__(self, encoder: dict, head: dict, **kwargs):
        super().__init__(encoder, **kwargs)
        self.head = self.build_mlp(dict(head, out_dim=8), 2 * self.encoder.feat_dim)

    def compute_loss(self, views):
        h = self.encode_tiles(views[0])                               # (B, 9, D)
        b = len(h)
        neighbours = h[:, list(NEIGHBOURS)]                           # (B, 8, D)
        centre = h[:, CENTRE:CENTRE + 1].expand_as(neighbours)        # (B, 8, D)
        pairs = torch.cat([centre, neighbours], dim=2).flatten(0, 1)  # (8B, 2D)
        labels = torch.arange(8, device=h.device).repeat(b)           # pair (i, k) -> k
        return pretext_classification(self.head(pairs), labels), h.mean(1)


@MODELS.register_module()
class Jigsaw(_TileTask):
    """Jigsaw puzzles (Noroozi & Favaro 2016, "Unsupervised Learning of Visual Representations by
    Solving Jigsaw Puzzles"): the 9 tile features are concatenated in the order of a permutation
    drawn from a fixed set of ``num_permutations`` (chosen for maximal Hamming distance, see
    :func:`jigsaw_permutations`) and the ``head`` (``out_dim`` set to the set's size) predicts
    which one. The encoder sees each tile alone, so shuffling the features equals shuffling the
    tiles. Loss: cross-entropy. The set is a buffer: checkpoints carry it.
    """

    def __init__(self, encoder: dict, head: dict, num_permutations: int = 100,
                 permutation_seed: int = 0, **kwargs):
        super().__init__(encoder, **kwargs)
        self.register_buffer('permutations',
                             jigsaw_permutations(num_permutations, 9, permutation_seed))
        self.head = self.build_mlp(dict(head, out_dim=num_permutations),
                                   9 * self.encoder.feat_dim)

    def compute_loss(self, views):
        h = self.encode_tiles(views[0])                               # (B, 9, D)
        labels = torch.randint(len(self.permutations), (len(h),), device=h.device)
        puzzles = shuffle_tiles(h, self.permutations, labels).flatten(1)   # (B, 9D)
        return pretext_classification(self.head(puzzles), labels), h.mean(1)
