"""CPUSyncBatchNorm over 2 gloo ranks equals plain BatchNorm on the concatenated batch: output,
gradients of input and affine parameters, running statistics."""
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn

from mm_ssl.ops.sync_bn import CPUSyncBatchNorm, convert_cpu_sync_batchnorm

WORLD, C = 2, 3
# rank row counts differ, as the voxels of sparse encoders do
CASES = {'bn1d': (nn.BatchNorm1d, (3, 6), ()), 'bn2d': (nn.BatchNorm2d, (2, 2), (4, 5))}


def case_data(name):
    bn_type, sizes, spatial = CASES[name]
    g = torch.Generator().manual_seed(len(name) + sum(sizes))
    x = torch.randn(sum(sizes), C, *spatial, generator=g, dtype=torch.float64) * 3 + 1
    weight = torch.randn(x.shape, generator=g, dtype=torch.float64)   # loss = sum(weight * y)
    bn = bn_type(C, momentum=0.3).double()
    with torch.no_grad():
        bn.weight.copy_(torch.rand(C, generator=g) + 0.5)
        bn.bias.copy_(torch.randn(C, generator=g))
    return bn, sizes, x, weight


def run(bn, x, weight):
    """Two training steps' forward/backward, then an eval forward."""
    x = x.clone().requires_grad_()
    y = bn(x)
    (weight * y).sum().backward()
    bn(x.detach() * 0.5)                    # a second step: running statistics accumulate
    y_eval = bn.eval()(x.detach())
    return dict(y=y.detach(), x_grad=x.grad, w_grad=bn.weight.grad, b_grad=bn.bias.grad,
                mean=bn.running_mean, var=bn.running_var, y_eval=y_eval)


def worker(rank, init_file, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=WORLD)
    # the reason this module exists: torch's SyncBatchNorm refuses CPU tensors
    with pytest.raises(ValueError, match='GPU'):
        nn.SyncBatchNorm(C)(torch.randn(4, C, 2))
    results = {}
    for name in CASES:
        bn, sizes, x, weight = case_data(name)
        model = convert_cpu_sync_batchnorm(nn.Sequential(bn))
        assert isinstance(model[0], CPUSyncBatchNorm) and model[0].weight is bn.weight
        rows = slice(sum(sizes[:rank]), sum(sizes[:rank + 1]))
        results[name] = run(model[0], x[rows], weight[rows])
    torch.save(results, os.path.join(out_dir, f'rank{rank}.pt'))
    dist.destroy_process_group()


def test_sync_bn_over_two_ranks_equals_batchnorm_on_the_whole_batch(tmp_path):
    mp.spawn(worker, args=(str(tmp_path / 'init'), str(tmp_path)), nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f'rank{r}.pt') for r in range(WORLD)]
    for name in CASES:
        bn, _, x, weight = case_data(name)
        ref = run(bn, x, weight)
        for key in ('y', 'x_grad', 'y_eval'):
            assert torch.allclose(torch.cat([r[name][key] for r in ranks]), ref[key],
                                  atol=1e-12), (name, key)
        for key in ('w_grad', 'b_grad'):   # each rank holds its part of the gradient
            assert torch.allclose(sum(r[name][key] for r in ranks), ref[key], atol=1e-12)
        for key in ('mean', 'var'):
            for r in ranks:
                assert torch.allclose(r[name][key], ref[key], atol=1e-12), (name, key)


def test_sync_bn_in_one_process_is_batchnorm():
    bn, _, x, weight = case_data('bn2d')
    synced = convert_cpu_sync_batchnorm(case_data('bn2d')[0])
    assert isinstance(synced, CPUSyncBatchNorm)
    ref, out = run(bn, x, weight), run(synced, x, weight)
    assert all(torch.allclose(out[k], ref[k], atol=1e-12) for k in ref)
