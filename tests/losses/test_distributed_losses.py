"""Losses over 2 gloo ranks equal one process with the global batch: same loss (mean of the rank
losses) and same gradient w.r.t. every embedding (DDP averages rank gradients)."""
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mm_ssl.losses import info_nce, nt_xent

D, WORLD = 8, 2


def embeddings(sizes):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(sum(sizes), D, generator=g, dtype=torch.float64) for _ in range(2)]


def losses(z1, z2, equal_sizes):
    # NT-Xent averages over the local anchors, so it needs equal batches on every rank (as
    # DDP training with drop_last has); InfoNCE weights ranks by their number of queries
    out = {'info_nce': info_nce(z1, z2, None, 0.2)}
    if equal_sizes:
        out['nt_xent'] = nt_xent(z1, z2, 0.5)
    return out


def worker(rank, init_file, out_dir, sizes):
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=WORLD)
    start = sum(sizes[:rank])
    z1, z2 = (z[start:start + sizes[rank]].clone().requires_grad_() for z in embeddings(sizes))
    result = {}
    for name, loss in losses(z1, z2, len(set(sizes)) == 1).items():
        z1.grad = z2.grad = None
        loss.backward(retain_graph=True)
        result[name] = (loss.detach(), z1.grad / WORLD, z2.grad / WORLD)
    torch.save(result, os.path.join(out_dir, f'rank{rank}.pt'))
    dist.destroy_process_group()


@pytest.mark.parametrize('sizes', [(5, 5), (3, 7)])
def test_two_ranks_equal_one_process_with_the_global_batch(tmp_path, sizes):
    mp.spawn(worker, args=(str(tmp_path / 'init'), str(tmp_path), sizes), nprocs=WORLD,
             join=True)
    ranks = [torch.load(tmp_path / f'rank{r}.pt') for r in range(WORLD)]
    z1, z2 = (z.clone().requires_grad_() for z in embeddings(sizes))
    for name, loss in losses(z1, z2, len(set(sizes)) == 1).items():
        z1.grad = z2.grad = None
        loss.backward(retain_graph=True)
        mean_rank_loss = sum(r[name][0] for r in ranks) / WORLD
        assert torch.allclose(mean_rank_loss, loss.detach(), atol=1e-10), name
        assert torch.allclose(torch.cat([r[name][1] for r in ranks]), z1.grad, atol=1e-10), name
        assert torch.allclose(torch.cat([r[name][2] for r in ranks]), z2.grad, atol=1e-10), name
