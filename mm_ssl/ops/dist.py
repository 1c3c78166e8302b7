"""Gathering across ranks for losses that need the global batch.

In one process every function here is the identity, so single-process results are unchanged.
Ranks may hold different numbers of rows (SimIPU's points per frame, a last partial batch)."""
import torch
import torch.distributed as dist


def world_info() -> tuple[int, int]:
    """(rank, world_size); (0, 1) when torch.distributed is not initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def row_counts(n: int, device=None) -> list[int]:
    """The row count ``n`` of every rank, in rank order (``[n]`` in one process)."""
    if world_info()[1] == 1:
        return [n]
    count = torch.tensor([n], device=device)
    out = [torch.empty_like(count) for _ in range(dist.get_world_size())]
    dist.all_gather(out, count)
    return [int(c) for c in out]


def _all_gather_rows(x: torch.Tensor, counts: list[int]) -> torch.Tensor:
    """all_gather of row blocks of unequal sizes: padded to the largest, trimmed after."""
    padded = x.new_zeros((max(counts), *x.shape[1:]))
    padded[:len(x)] = x
    out = [torch.empty_like(padded) for _ in counts]
    dist.all_gather(out, padded)
    return torch.cat([block[:n] for block, n in zip(out, counts)])


class _GatherWithGrad(torch.autograd.Function):
    """all_gather whose backward sums the incoming gradients over ranks and returns this rank's
    rows, so a loss computed against every rank's samples trains every rank's encoder (SimCLR's
    large-batch recipe; plain ``all_gather`` would cut the graph)."""

    @staticmethod
    def forward(ctx, x, counts):
        ctx.counts = counts
        return _all_gather_rows(x.contiguous(), counts)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous()
        dist.all_reduce(grad)
        return grad.split(ctx.counts)[dist.get_rank()], None


def gather_with_grad(x: torch.Tensor, counts: list[int] | None = None) -> torch.Tensor:
    """Concatenate ``x`` (N_r, ...) of every rank r into (sum N_r, ...), keeping the gradient
    path. ``counts``: the N_r of every rank when known (:func:`row_counts`), else exchanged."""
    if world_info()[1] == 1:
        return x
    return _GatherWithGrad.apply(x, counts or row_counts(len(x), x.device))


@torch.no_grad()
def gather_no_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` (N_r, ...) of every rank r into (sum N_r, ...), detached (queue keys)."""
    if world_info()[1] == 1:
        return x.detach()
    return _all_gather_rows(x.detach().contiguous(), row_counts(len(x), x.device))


class _AllReduceWithGrad(torch.autograd.Function):
    """Sum over ranks whose backward sums the gradients over ranks: every rank's result feeds its
    own loss, so each input's gradient is the sum of all ranks' gradients of the result."""

    @staticmethod
    def forward(ctx, x):
        x = x.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(grad)
        return grad


def all_reduce_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Sum of ``x`` over ranks, out of place, keeping the gradient path (SyncBN's statistics)."""
    return _AllReduceWithGrad.apply(x) if world_info()[1] > 1 else x


def all_reduce(x: torch.Tensor, op: str = 'sum') -> torch.Tensor:
    """In-place ``sum`` / ``max`` of ``x`` over ranks, returned (statistics of the global batch:
    SwAV's Sinkhorn sums, DINO's centre)."""
    if world_info()[1] > 1:
        dist.all_reduce(x, op={'sum': dist.ReduceOp.SUM, 'max': dist.ReduceOp.MAX}[op])
    return x
