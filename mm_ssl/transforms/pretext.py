"""Inputs and targets of the pretext tasks, made per batch from plain images.

Every function takes normalised float images (B, C, H, W) and returns the task's inputs and its
integer labels or masks; the algorithms in ``mm_ssl/algorithms/{rotation,patch_context,
colorization,inpainting}.py`` train on them.
"""
import itertools

import torch

from mm_ssl.errors import ConfigError

# the 8 neighbours of the centre tile of a 3x3 grid, in raster order (Doersch et al. 2015, fig. 2)
NEIGHBOURS = (0, 1, 2, 3, 5, 6, 7, 8)
CENTRE = 4


def rotate_all(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image rotated by 0, 90, 180 and 270 degrees counter-clockwise (Gidaris et al. 2018
    feed all four rotations of every image in the same batch).

    Shape:
        - images: (B, C, H, W) with H == W.
        - output: rotated (4B, C, H, W), rotation k first for all images, then k+1; labels (4B,)
          holding k in {0, 1, 2, 3}.
    """
    if images.shape[-1] != images.shape[-2]:
        raise ConfigError(f'rotation prediction needs square images, got {tuple(images.shape)}')
    rotated = torch.cat([torch.rot90(images, k, dims=(-2, -1)) for k in range(4)])
    labels = torch.arange(4, device=images.device).repeat_interleave(len(images))
    return rotated, labels


def grid_tiles(images: torch.Tensor, grid: int = 3, gap: int = 0,
               jitter: bool = False) -> torch.Tensor:
    """Cut each image into ``grid`` x ``grid`` square tiles.

    The centred square of side ``grid * cell`` (``cell = min(H, W) // grid``) is split into cells;
    each tile is ``cell - gap`` pixels wide and sits in the middle of its cell, or at a uniformly
    random offset in [0, gap] per image and tile with ``jitter``. The gap and jitter keep the
    network from solving patch tasks by continuing lines across tile borders (Doersch et al. 2015,
    §3; Noroozi & Favaro 2016, §3.2).

    Shape:
        - images: (B, C, H, W); output: (B, grid * grid, C, t, t), tiles in raster order,
          t = cell - gap.
    """
    b, _, h, w = images.shape
    cell = min(h, w) // grid
    size = cell - gap
    if size < 1:
        raise ConfigError(f'grid_tiles: gap={gap} leaves no pixels in cells of {cell} px '
                          f'({grid}x{grid} grid on {h}x{w} images)')
    k = grid * grid
    if jitter:
        offset = torch.randint(0, gap + 1, (b, k, 2), device=images.device)
    else:
        offset = torch.full((b, k, 2), gap // 2, device=images.device)
    cells = torch.arange(k, device=images.device)
    top = (h - grid * cell) // 2 + cell * (cells // grid) + offset[..., 0]       # (B, K)
    left = (w - grid * cell) // 2 + cell * (cells % grid) + offset[..., 1]       # (B, K)
    span = torch.arange(size, device=images.device)
    rows = (top[..., None] + span)[..., :, None]                                 # (B, K, t, 1)
    cols = (left[..., None] + span)[..., None, :]                                # (B, K, 1, t)
    batch = torch.arange(b, device=images.device).view(b, 1, 1, 1)
    return images[batch, :, rows, cols].permute(0, 1, 4, 2, 3)                   # (B, K, C, t, t)


def jigsaw_permutations(num_permutations: int, num_tiles: int = 9, seed: int = 0) -> torch.Tensor:
    """A set of tile permutations far apart in Hamming distance, by the greedy algorithm of
    Noroozi & Favaro 2016 (§3.3, algorithm 1, the "maximal" variant): start from a random
    permutation, then repeatedly add the unused permutation with the largest mean Hamming
    distance to those chosen so far.

    Shape:
        output: (num_permutations, num_tiles) int64, rows distinct.
    """
    if num_tiles > 10:
        raise ConfigError(f'jigsaw_permutations: enumerating {num_tiles}! permutations is too '
                          'big; use at most 10 tiles')
    every = torch.tensor(list(itertools.permutations(range(num_tiles))), dtype=torch.uint8)
    if not 1 <= num_permutations <= len(every):
        raise ConfigError(f'jigsaw_permutations: num_permutations must be in [1, {len(every)}] '
                          f'for {num_tiles} tiles, got {num_permutations}')
    first = int(torch.randint(len(every), (), generator=torch.Generator().manual_seed(seed)))
    chosen = [first]
    total = torch.zeros(len(every), dtype=torch.int32)     # summed distance to the chosen ones
    used = torch.zeros(len(every), dtype=torch.bool)
    positions = every.T.contiguous()                         # (T, T!): one compare per position
    for _ in range(num_permutations - 1):
        for position, tile in zip(positions, every[chosen[-1]]):
            total += position != tile
        used[chosen[-1]] = True
        chosen.append(int(total.masked_fill(used, -1).argmax()))
    return every[chosen].long()


def min_hamming_distance(permutations: torch.Tensor) -> int:
    """Smallest Hamming distance between two rows of (P, T) ``permutations`` (P >= 2)."""
    distances = (permutations[:, None] != permutations[None]).sum(-1)           # (P, P)
    distances.fill_diagonal_(permutations.shape[1] + 1)
    return int(distances.min())


def shuffle_tiles(tiles: torch.Tensor, permutations: torch.Tensor,
                  choice: torch.Tensor) -> torch.Tensor:
    """Reorder the tiles of each sample: position i of sample b receives tile
    ``permutations[choice[b], i]``. Works on tile images or on per-tile features.

    Shape:
        - tiles: (B, T, ...); permutations: (P, T); choice: (B,) in [0, P).
        - output: like ``tiles``.
    """
    order = permutations[choice]                                                 # (B, T)
    return tiles[torch.arange(len(tiles), device=tiles.device)[:, None], order]


def region_mask(n: int, height: int, width: int, fraction: float = 0.5, random: bool = False,
                device='cpu') -> torch.Tensor:
    """Context-encoder masks (Pathak et al. 2016, §3.3): a rectangle of ``fraction`` of each side,
    at the centre ("central region") or at a uniformly random position per image.

    Shape:
        output: (n, 1, height, width) bool, True inside the region to fill in.
    """
    h, w = round(height * fraction), round(width * fraction)
    if not (0 < h <= height and 0 < w <= width):
        raise ConfigError(f'region_mask: fraction must be in (0, 1], got {fraction}')
    if random:
        top = torch.randint(0, height - h + 1, (n,), device=device)
        left = torch.randint(0, width - w + 1, (n,), device=device)
    else:
        top = torch.full((n,), (height - h) // 2, device=device)
        left = torch.full((n,), (width - w) // 2, device=device)
    rows = torch.arange(height, device=device)[None, :, None]
    cols = torch.arange(width, device=device)[None, None, :]
    inside = ((rows >= top[:, None, None]) & (rows < top[:, None, None] + h) &
              (cols >= left[:, None, None]) & (cols < left[:, None, None] + w))
    return inside[:, None]
