"""Gathering across ranks for losses that need the global batch.

In one process every function here is the identity, so single-process results are unchanged."""
import torch
import torch.distributed as dist


def world_info() -> tuple[int, int]:
    """(rank, world_size); (0, 1) when torch.distributed is not initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class _GatherWithGrad(torch.autograd.Function):
    """all_gather whose backward sums the incoming gradients over ranks and returns this rank's
    slice, so a loss computed against every rank's samples trains every rank's encoder (SimCLR's
    large-batch recipe; plain ``all_gather`` would cut the graph)."""

    @staticmethod
    def forward(ctx, x):
        out = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(out, x.contiguous())
        return torch.cat(out)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous()
        dist.all_reduce(grad)
        rank, world = dist.get_rank(), dist.get_world_size()
        return grad.chunk(world)[rank]


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` (N, ...) of every rank into (world*N, ...), keeping the gradient path."""
    return _GatherWithGrad.apply(x) if world_info()[1] > 1 else x


@torch.no_grad()
def gather_no_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` (N, ...) of every rank into (world*N, ...), detached (queue keys)."""
    if world_info()[1] == 1:
        return x.detach()
    out = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(out, x.detach().contiguous())
    return torch.cat(out)


def all_reduce(x: torch.Tensor, op: str = 'sum') -> torch.Tensor:
    """In-place ``sum`` / ``max`` of ``x`` over ranks, returned (statistics of the global batch:
    SwAV's Sinkhorn sums, DINO's centre)."""
    if world_info()[1] > 1:
        dist.all_reduce(x, op={'sum': dist.ReduceOp.SUM, 'max': dist.ReduceOp.MAX}[op])
    return x
