"""Running an encoder over multi-crop views (SwAV, DINO)."""
import itertools

import torch
from mmengine.logging import MessageHub


def encode_crops(encoder, views: list[torch.Tensor]) -> torch.Tensor:
    """Features of every view, in view order: consecutive views of one resolution go through
    ``encoder`` as one batch (SwAV's and DINO's multi-crop wrapper), so the 2 global and the
    N local crops cost two forward passes, and BatchNorm sees each resolution as a whole.

    Shape:
        - views: list of V tensors (B, C, H_v, W_v); output: (V*B, D), rows v*B..(v+1)*B-1 are
          view v.
    """
    groups = itertools.groupby(views, key=lambda v: v.shape[-2:])
    return torch.cat([encoder(torch.cat(list(same))) for _, same in groups])


def current_iter() -> int:
    """The runner's iteration (mmengine's RuntimeInfoHook records it); 0 outside a runner."""
    return MessageHub.get_current_instance().get_info('iter', 0)
