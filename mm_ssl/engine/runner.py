import datetime
import os
import os.path as osp
import signal
import threading
from contextlib import contextmanager

import torch
import torch.distributed as dist
import torch.nn as nn
from mmengine.device import get_device
from mmengine.dist import master_only
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.model import (MMDistributedDataParallel, convert_sync_batchnorm, is_model_wrapper,
                            revert_sync_batchnorm)
from mmengine.optim import OptimWrapperDict
from mmengine.runner import Runner
from mmengine.visualization import Visualizer

from mm_ssl.errors import ConfigError, DataError
from mm_ssl.fileio import atomic_path
from mm_ssl.models.checkpoint import check_matches, read_checkpoint
from mm_ssl.models.train_step import train_step_all
from mm_ssl.ops.sync_bn import convert_cpu_sync_batchnorm
from mm_ssl.registry import RUNNERS

from .console import ProgressBarHook, device_summary, quiet_console
from .nonfinite import NonFiniteLossHook
from .random_state import RandomStateHook


class SSLDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's DDP wrapper, also stepping an ``OptimWrapperDict`` (SimIPU's hybrid
    optimisers) after one backward, which mmengine's wrapper cannot."""

    def train_step(self, data, optim_wrapper):
        if isinstance(optim_wrapper, OptimWrapperDict):
            return train_step_all(self, data, optim_wrapper)
        return super().train_step(data, optim_wrapper)


def wrap_distributed(model: nn.Module, sync_bn: str | None = None,
                     find_unused_parameters: bool = False) -> SSLDistributedDataParallel:
    """Wrap a model (already on its device) for distributed training as mmengine's runner does:
    DDP without buffer broadcast, on this process's GPU (``LOCAL_RANK``) or on CPU with gloo.

    ``sync_bn='torch'`` (the config switch, mmengine's name) first turns every BatchNorm into
    torch's SyncBatchNorm on GPUs, into :class:`CPUSyncBatchNorm` on CPU, so the batch statistics
    are those of the global batch."""
    cuda = next(model.parameters()).is_cuda
    if sync_bn is not None:
        if cuda:
            model = convert_sync_batchnorm(model, sync_bn)
        elif sync_bn == 'torch':
            model = convert_cpu_sync_batchnorm(model)
        else:
            raise ConfigError(f"sync_bn={sync_bn!r}: on CPU only sync_bn='torch' is supported")
    # ranks may be seeded differently (randomness.diff_rank_seed): DDP broadcasts rank 0's
    # parameters, rank 0's buffers (memory banks, queues, seeds) are broadcast here, once
    for buffer in model.buffers():
        dist.broadcast(buffer, 0)
    return SSLDistributedDataParallel(
        module=model, device_ids=[int(os.environ['LOCAL_RANK'])] if cuda else None,
        broadcast_buffers=False, find_unused_parameters=find_unused_parameters)


def empty_epoch_message(dataloader) -> str:
    """Why a training dataloader yields no batch: the dataset (its type and root), its size, the
    batch size and what to change."""
    dataset = dataloader.dataset
    where = next((f' at {getattr(dataset, a)}' for a in ('data_root', 'root', 'ann_file')
                  if getattr(dataset, a, None)), '')
    batch_size = dataloader.batch_size or getattr(dataloader.batch_sampler, 'batch_size', None)
    per_rank = len(dataloader.sampler) if hasattr(dataloader.sampler, '__len__') else len(dataset)
    ranks = f' ({per_rank} per process)' if per_rank != len(dataset) else ''
    if not len(dataset):
        return f'train_dataloader: {type(dataset).__name__}{where} has no samples'
    return (f'train_dataloader: {type(dataset).__name__}{where} has {len(dataset)} samples'
            f'{ranks}, fewer than batch_size={batch_size}, and incomplete batches are dropped: '
            f'an epoch would have no batch. Lower train_dataloader.batch_size to at most '
            f'{per_rank}, or give it more data')


@contextmanager
def interrupt_after():
    """Hold a Ctrl-C (SIGINT) that arrives during the block and raise it as KeyboardInterrupt
    when the block ends, so that the work inside is neither cut nor turned into another error.
    Outside the main thread (where signal handlers cannot be set) the block runs as is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda *_: received.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)
    if received:
        raise KeyboardInterrupt


@RUNNERS.register_module()
class SSLRunner(Runner):
    """mmengine's Runner, able to train distributed on CPU-only machines.

    mmengine 0.10.7's ``launcher='pytorch'`` always calls ``torch.cuda.set_device`` and gives DDP
    ``device_ids``, so gloo training on CPUs fails. Without CUDA we initialise the gloo process
    group ourselves (mmengine then skips its own init) and wrap the model in DDP without device
    ids. With CUDA, mmengine's NCCL initialisation runs unchanged. Models are wrapped by
    :func:`wrap_distributed` (``sync_bn = 'torch'`` synchronises BatchNorm, on CPU too).

    Checkpoints are checked against the model before mmengine loads them, which would only warn:
    ``load_from`` must hold every encoder weight, ``resume`` every weight, with equal shapes.
    Local checkpoints are written atomically (see :func:`atomic_path`).

    Every run stops at the first NaN / inf loss, before the optimiser step; the config's
    ``skip_nonfinite = K`` skips up to K such steps first (:class:`NonFiniteLossHook`).

    Checkpoints hold the global random generators' states, restored on resume
    (:class:`RandomStateHook`); with mm_ssl's epoch loop and sampler a run resumes exactly,
    also in the middle of an epoch (:class:`ResumableEpochBasedTrainLoop`).
    """

    def setup_env(self, env_cfg: dict) -> None:
        if self.distributed and not dist.is_initialized() and not torch.cuda.is_available():
            if self.launcher != 'pytorch':
                raise RuntimeError(f'launcher={self.launcher!r} needs CUDA; on CPU use '
                                   "torchrun ... --launcher pytorch")
            timeout = env_cfg.get('dist_cfg', {}).get('timeout')
            kwargs = {'timeout': datetime.timedelta(seconds=timeout)} \
                if timeout else {}
            dist.init_process_group('gloo', rank=int(os.environ['RANK']),
                                    world_size=int(os.environ['WORLD_SIZE']), **kwargs)
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg, model):
        if model_wrapper_cfg is not None or is_model_wrapper(model):
            return super().wrap_model(model_wrapper_cfg, model)
        # ``device='cpu'`` in a config trains on the CPU of a GPU machine (mmengine always takes
        # the GPU when there is one)
        model = model.to(self.cfg.get('device') or get_device())
        if not self.distributed:
            return revert_sync_batchnorm(model)
        return wrap_distributed(model, self.cfg.get('sync_bn'),
                                self.cfg.get('find_unused_parameters', False))

    def build_logger(self, *args, **kwargs):
        logger = super().build_logger(*args, **kwargs)
        quiet_console(logger)   # the config, environment and hook order go to the log file only
        return logger

    def _log_env(self, env_cfg: dict) -> None:
        super()._log_env(env_cfg)   # to the log file (its 'GPU number' is the world size)
        name = osp.splitext(osp.basename(self.cfg.filename or ''))[0] or self._experiment_name
        model = self.cfg.get('model', {}).get('type', 'model')
        device = device_summary(self.cfg.get('device') or get_device())
        self.logger.info(f'{name}: {model} on {device}, seed {self._seed}, work dir '
                         f'{self._work_dir}; config and environment in '
                         f'{osp.join(self._log_dir, self.timestamp)}.log')

    def build_train_loop(self, loop):
        loop = super().build_train_loop(loop)
        dataloader = getattr(loop, 'dataloader', None)
        if dataloader is not None and len(dataloader) == 0:
            raise DataError(empty_epoch_message(dataloader))
        return loop

    def train(self):
        try:
            return super().train()
        finally:   # an error or Ctrl-C must not leave the console writing through a dead bar
            for hook in self.hooks:
                if isinstance(hook, ProgressBarHook):
                    hook.close()

    def build_visualizer(self, visualizer=None):
        # mmengine hands back an existing visualizer of the same name: a second run of one
        # config started within the same second in this process (a tool's main() called twice)
        # would write into the first run's log folder, which rollback_work_dir may have removed
        while Visualizer.check_instance_created(self._experiment_name):
            self._experiment_name += '_'
        return super().build_visualizer(visualizer)

    def _check_checkpoint(self, filename: str, prefix: str) -> None:
        model = self.model.module if is_model_wrapper(self.model) else self.model
        check_matches(model.state_dict(), read_checkpoint(filename), filename, prefix)

    def load_checkpoint(self, filename: str, *args, **kwargs):
        self._check_checkpoint(filename, prefix='encoder.')
        return super().load_checkpoint(filename, *args, **kwargs)

    def resume(self, filename: str, *args, **kwargs):
        self._check_checkpoint(filename, prefix='')
        return super().resume(filename, *args, **kwargs)

    def register_hooks(self, default_hooks=None, custom_hooks=None) -> None:
        super().register_hooks(default_hooks, custom_hooks)
        if not any(isinstance(hook, NonFiniteLossHook) for hook in self.hooks):
            self.register_hook(NonFiniteLossHook(self.cfg.get('skip_nonfinite', 0)))
        if not any(isinstance(hook, RandomStateHook) for hook in self.hooks):
            self.register_hook(RandomStateHook())
        if not any(isinstance(hook, ProgressBarHook) for hook in self.hooks):
            self.register_hook(ProgressBarHook())

    @master_only
    def save_checkpoint(self, out_dir: str, filename: str, file_client_args=None, **kwargs):
        # mmengine formats the config into the checkpoint with a bare `except:` that turns a
        # Ctrl-C into a SyntaxError quoting the whole config: the interrupt waits for the save
        with interrupt_after():
            backend = get_file_backend(out_dir, backend_args=kwargs.get('backend_args'))
            if file_client_args is not None or not isinstance(backend, LocalBackend):
                return super().save_checkpoint(out_dir, filename, file_client_args, **kwargs)
            with atomic_path(osp.join(out_dir, filename)) as tmp:
                super().save_checkpoint(out_dir, osp.basename(tmp), **kwargs)
