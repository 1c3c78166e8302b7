"""Per-sample seeds: a sample's random draws depend only on (seed, epoch, sample index).

Dataset-side augmentation (SimIPU's point sampling and global augmentation, video clip sampling,
any dataset ``pipeline``) draws from the global generators. Inside DataLoader workers their
state depends on which worker loads the sample and on what it loaded before; in the main process
on the whole run so far. Neither survives a change of ``num_workers``, nor a resume in the middle
of an epoch. Here the sampler hands each index its own seed and the dataset draws the sample
under :func:`sample_rng`, so a sample is augmented the same wherever and whenever it is loaded,
and a resumed run can skip the batches already trained without loading them
(:meth:`SeededSampler.skip`).
"""
import itertools
import random
from contextlib import contextmanager

import numpy as np
import torch
from mmengine.dataset import DefaultSampler

from mm_ssl.registry import DATA_SAMPLERS

__all__ = ['SampleIndex', 'SeededSampler', 'sample_rng']


class SampleIndex(int):
    """A dataset index (an ``int``) that carries the seed of its sample's random draws."""

    def __new__(cls, index: int, seed: int):
        obj = super().__new__(cls, index)
        obj.seed = seed
        return obj

    def __reduce__(self):   # to DataLoader workers with its seed
        return SampleIndex, (int(self), self.seed)


@contextmanager
def sample_rng(index):
    """Runs the block with the global generators of torch, numpy and Python's ``random`` seeded
    by ``index.seed`` when ``index`` is a :class:`SampleIndex`, and restores their states
    afterwards (the process's streams do not advance); a plain index leaves them as they are.

    Example:
        >>> with sample_rng(i):
        ...     sample = self.pipeline(self.load(i))
    """
    if not isinstance(index, SampleIndex):
        yield
        return
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(index.seed)   # CPU only: CUDA's stays the run's
            np.random.seed(index.seed)
            random.seed(index.seed)
            yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


@DATA_SAMPLERS.register_module(name=['DefaultSampler', 'SeededSampler'])
class SeededSampler(DefaultSampler):
    """mmengine's ``DefaultSampler`` (configs name it ``DefaultSampler``; in the ``mm_ssl`` scope
    they get this one): the same indices in the same order, each a :class:`SampleIndex` seeded
    by (``seed``, ``epoch``, index), and able to start an epoch after its first samples."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._skip = 0

    def skip(self, num_samples: int) -> None:
        """Leave out the first ``num_samples`` indices of the next iteration (only)."""
        self._skip = num_samples

    def __iter__(self):
        start, self._skip = self._skip, 0
        for index in itertools.islice(super().__iter__(), start, None):
            seed = np.random.SeedSequence([self.seed, self.epoch, index]).generate_state(1)
            yield SampleIndex(index, int(seed[0]))
