"""Timing shared by the benchmark scripts."""
import time

import torch


def timeit(fns: dict, repeats: int, warmup: int = 1, device='cpu') -> dict:
    """Median and min wall time in seconds of each of ``fns``, run round-robin so that load from
    other processes hits all of them alike; CUDA work is synchronised before each reading."""
    cuda = torch.device(device).type == 'cuda'
    times = {k: [] for k in fns}
    for i in range(warmup + repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            if cuda:
                torch.cuda.synchronize()
            if i >= warmup:
                times[k].append(time.perf_counter() - t0)
    return {k: (sorted(t)[len(t) // 2], min(t)) for k, t in times.items()}
