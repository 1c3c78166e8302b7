"""Losses over 2 gloo ranks x B samples equal one process with 2B samples: same loss (mean of
the rank losses) and same gradient w.r.t. every embedding (DDP averages rank gradients)."""
import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mm_ssl.losses import info_nce, nt_xent

B, D, WORLD = 5, 8, 2


def embeddings():
    g = torch.Generator().manual_seed(0)
    return [torch.randn(WORLD * B, D, generator=g, dtype=torch.float64) for _ in range(2)]


def losses(z1, z2):
    return {'nt_xent': nt_xent(z1, z2, 0.5), 'info_nce': info_nce(z1, z2, None, 0.2)}


def worker(rank, init_file, out_dir):
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=WORLD)
    z1, z2 = (z[rank * B:(rank + 1) * B].clone().requires_grad_() for z in embeddings())
    result = {}
    for name, loss in losses(z1, z2).items():
        z1.grad = z2.grad = None
        loss.backward(retain_graph=True)
        result[name] = (loss.detach(), z1.grad / WORLD, z2.grad / WORLD)
    torch.save(result, os.path.join(out_dir, f'rank{rank}.pt'))
    dist.destroy_process_group()


def test_two_ranks_equal_one_process_with_the_global_batch(tmp_path):
    mp.spawn(worker, args=(str(tmp_path / 'init'), str(tmp_path)), nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f'rank{r}.pt') for r in range(WORLD)]
    z1, z2 = (z.clone().requires_grad_() for z in embeddings())
    for name, loss in losses(z1, z2).items():
        z1.grad = z2.grad = None
        loss.backward(retain_graph=True)
        mean_rank_loss = sum(r[name][0] for r in ranks) / WORLD
        assert torch.allclose(mean_rank_loss, loss.detach(), atol=1e-10), name
        assert torch.allclose(torch.cat([r[name][1] for r in ranks]), z1.grad, atol=1e-10), name
        assert torch.allclose(torch.cat([r[name][2] for r in ranks]), z2.grad, atol=1e-10), name
