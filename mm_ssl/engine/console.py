"""What a training run shows on the console: one summary line, a progress bar with ETA and the
key metrics, mmengine's per-epoch log lines. The config, the environment and the hook order go to
the log file only."""
import logging
import sys

import torch
from mmengine.dist import get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from mm_ssl.progress import progress
from mm_ssl.registry import HOOKS

# mmengine's messages that are written for the log file, not for a person watching the run
FILE_ONLY_PREFIXES = (
    'Config:\n',
    'Hooks will be executed in the following order',
    '\n' + '-' * 60 + '\nSystem environment:',
    # raised by mmengine itself for its own CheckpointHook defaults: nothing a user can act on
    '"FileClient" will be deprecated',
    '"HardDiskBackend" is the alias',
)


class FileOnlyFilter(logging.Filter):
    """Keeps the messages of :data:`FILE_ONLY_PREFIXES`, and records logged with
    ``extra={'file_only': True}``, off the console handler they are attached to."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, 'file_only', False):
            return False
        message = record.getMessage()
        return not message.startswith(FILE_ONLY_PREFIXES)


def console_handlers(logger: logging.Logger) -> list[logging.Handler]:
    return [h for h in logger.handlers
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)]


def quiet_console(logger: logging.Logger) -> None:
    """Attach :class:`FileOnlyFilter` to the logger's console handlers (once)."""
    for handler in console_handlers(logger):
        if not any(isinstance(f, FileOnlyFilter) for f in handler.filters):
            handler.addFilter(FileOnlyFilter())


def device_summary(device: str | torch.device) -> str:
    """``cpu (2 threads)`` or ``cuda:0 (NVIDIA H100 ...)``, times the number of processes."""
    device = torch.device(device)
    what = f'{device} ({torch.get_num_threads()} threads)' if device.type == 'cpu' else \
        f'{device} ({torch.cuda.get_device_name(device)})'
    processes = get_world_size()
    return f'{processes} processes, each on {what}' if processes > 1 else what


class _BarStream:
    """A console handler's stream that writes through ``tqdm.write``, so log lines appear above
    the bar instead of through it."""

    def __init__(self, bar, stream):
        self.bar, self.stream = bar, stream

    def write(self, text: str) -> None:
        if text.rstrip('\n'):
            self.bar.write(text.rstrip('\n'), file=self.stream)

    def flush(self) -> None:
        self.stream.flush()


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """A bar over the whole run (iterations, resumed runs start where they stopped) with its ETA,
    the epoch and the latest loss terms and learning rate. Added to every run by
    :class:`~mm_ssl.engine.SSLRunner`; only the main process draws it.

    On a terminal it redraws in place and log lines print above it; otherwise (a log file, CI)
    it prints a line at most every 30 s, so an epoch of a slow model is never silent."""

    priority = 'LOW'

    def __init__(self, max_metrics: int = 3):
        self.max_metrics = max_metrics
        self.bar = None
        self._redirected = []

    def before_train(self, runner) -> None:
        if not is_main_process():
            return
        self.bar = progress(desc='train', total=runner.max_iters, initial=runner.iter,
                            unit='it')
        if sys.stderr.isatty():
            for handler in console_handlers(runner.logger):
                self._redirected.append((handler, handler.stream))
                handler.setStream(_BarStream(self.bar, handler.stream))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.bar is None:
            return
        postfix = {}
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            postfix['epoch'] = f'{runner.epoch + 1}/{runner.max_epochs}'
        losses = [(k, v) for k, v in (outputs or {}).items() if k.startswith('loss')]
        for key, value in losses[:self.max_metrics]:
            postfix[key] = f'{float(torch.as_tensor(value).detach()):.4g}'
        lr = runner.optim_wrapper.get_lr()
        first_lr = next(iter(lr.values()), None)
        if first_lr:
            postfix['lr'] = f'{first_lr[0]:.3g}'
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(1)

    def after_train(self, runner) -> None:
        self.close()

    def close(self) -> None:
        """End the bar and give the console handlers their stream back (also after an error or
        Ctrl-C, through :meth:`SSLRunner.train`)."""
        for handler, stream in self._redirected:
            handler.setStream(stream)
        self._redirected = []
        if self.bar is not None:
            self.bar.close()
            self.bar = None
