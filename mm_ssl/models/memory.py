"""Stores of past embeddings used as negatives."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mm_ssl.errors import ConfigError
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


class MemoryBank(nn.Module):
    r"""One L2-normalised embedding per training sample (InstDisc / NPID, Wu et al. 2018 §3.2):
    after each step the entry of every sample in the batch moves towards its new feature,
    :math:`v_i \leftarrow \mathrm{normalize}(m\,v_i + (1-m)\,f_i)`.

    Entries start as random unit vectors. Indices and features of every rank are applied (gathered
    first), so all ranks hold the same bank. State lives in a buffer, saved in checkpoints.

    Shape:
        - get(idx): idx (N,) dataset indices -> (N, D).
        - sample(num): (num, D), entries drawn uniformly with replacement.
        - update(idx, features): idx (N,), features (N, D).

    Example:
        >>> bank = MemoryBank(size=50000, dim=128, momentum=0.5)
        >>> positives, noise = bank.get(idx), bank.sample(4096)
        >>> bank.update(idx, features)
    """

    def __init__(self, size: int, dim: int, momentum: float = 0.5):
        super().__init__()
        self.momentum = momentum
        self.register_buffer('features', F.normalize(torch.randn(size, dim), dim=1))

    def _check(self, idx: torch.Tensor) -> None:
        if len(idx) and int(idx.max()) >= len(self.features):
            raise ConfigError(f'MemoryBank: sample index {int(idx.max())} does not fit a bank of '
                              f'{len(self.features)} entries; set the bank size to the number of '
                              f'training samples')

    def get(self, idx: torch.Tensor) -> torch.Tensor:
        self._check(idx)
        return self.features[idx]

    def sample(self, num: int) -> torch.Tensor:
        return self.features[torch.randint(len(self.features), (num,),
                                           device=self.features.device)]

    @torch.no_grad()
    def update(self, idx: torch.Tensor, features: torch.Tensor) -> None:
        idx, features = gather_no_grad(idx), gather_no_grad(features)
        self._check(idx)
        mixed = torch.lerp(F.normalize(features.to(self.features.dtype), dim=1),
                           self.features[idx], self.momentum)
        self.features[idx] = F.normalize(mixed, dim=1)
