"""The global random number generators' states, saved in checkpoints and restored on resume."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from mm_ssl.registry import HOOKS


def get_random_state() -> dict:
    """The states of torch's CPU and CUDA generators, numpy's and Python's, as tensors and
    numbers only (checkpoints load with ``weights_only=True``)."""
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return dict(
        torch=torch.get_rng_state(),
        cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        numpy=dict(keys=torch.from_numpy(keys.astype(np.int64)), pos=pos,
                   has_gauss=has_gauss, gauss=gauss),
        python=dict(version=version, internal=torch.tensor(internal), gauss_next=gauss_next))


def set_random_state(state: dict) -> None:
    """Restores what :func:`get_random_state` returned. Its tensors may come back on the GPU
    (mmengine loads a checkpoint to resume onto the training device); the setters want CPU ones."""
    torch.set_rng_state(state['torch'].cpu())
    if state['cuda'] and torch.cuda.is_available() and \
            len(state['cuda']) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in state['cuda']])
    np_state = state['numpy']
    keys = np_state['keys'].cpu().numpy().astype(np.uint32)
    np.random.set_state(('MT19937', keys, np_state['pos'], np_state['has_gauss'],
                         np_state['gauss']))
    py_state = state['python']
    random.setstate((py_state['version'], tuple(py_state['internal'].tolist()),
                     py_state['gauss_next']))


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Writes the global generators' states into every checkpoint (key ``random_state``) and,
    when a run resumes from one, restores them before training goes on, so that draws from them
    (InstDisc's noise entries, SimIPU's contrast points, random labels of pretext tasks) continue
    as in an uninterrupted run. :class:`~mm_ssl.engine.SSLRunner` registers it in every run.

    They are restored just before the first training step, not on load: mmengine's resume may
    re-seed after loading (when the config's seed differs from the checkpoint's), and the loops
    draw from them when they make the data iterator and skip the batches already trained.
    A checkpoint given as ``load_from`` (the run starts at iteration 0) leaves the generators as
    seeded. In distributed runs the checkpoint holds rank 0's states, which every rank restores.
    """

    priority = 'VERY_LOW'   # restore after every other hook's before_train_iter

    def __init__(self):
        self._loaded = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['random_state'] = get_random_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded = checkpoint.get('random_state')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self._loaded is not None and runner.iter > 0:
            set_random_state(self._loaded)
        self._loaded = None
