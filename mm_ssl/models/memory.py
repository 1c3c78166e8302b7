"""Stores of past embeddings used as negatives."""
import torch
import torch.nn as nn

from mm_ssl.ops.dist import gather_no_grad


class KeyQueue(nn.Module):
    """FIFO queue of keys (MoCo, He et al. 2020 §3.2): each step the newest keys replace the
    oldest, so the dictionary is decoupled from the batch size.

    Keys of every rank are enqueued (gathered first), so all ranks hold the same queue, unless
    ``gather=False`` (SwAV: each rank queues its own samples; Sinkhorn sums over ranks). Only slots
    written so far are served as negatives, instead of MoCo's random initial entries. State lives in
    buffers, so it is saved in checkpoints and restored on resume.

    Shape:
        - push(keys): keys (N, D), any N (wraps around the end).
        - negatives(): (min(filled, size), D).

    Example:
        >>> queue = KeyQueue(size=4096, dim=128)
        >>> queue.push(torch.randn(256, 128))
        >>> queue.negatives().shape
        torch.Size([256, 128])
    """

    def __init__(self, size: int, dim: int, gather: bool = True):
        super().__init__()
        self.size, self.gather = size, gather
        self.register_buffer('keys', torch.zeros(size, dim))
        self.register_buffer('ptr', torch.zeros((), dtype=torch.long))
        self.register_buffer('filled', torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def push(self, keys: torch.Tensor) -> None:
        keys = gather_no_grad(keys) if self.gather else keys.detach()
        keys = keys[-self.size:]  # more keys than slots: only the newest survive
        slots = (self.ptr + torch.arange(len(keys), device=keys.device)) % self.size
        self.keys[slots] = keys.to(self.keys.dtype)
        self.ptr.copy_((self.ptr + len(keys)) % self.size)
        self.filled.copy_(torch.clamp(self.filled + len(keys), max=self.size))

    def negatives(self) -> torch.Tensor:
        return self.keys if int(self.filled) == self.size else self.keys[:int(self.filled)]
