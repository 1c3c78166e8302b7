"""What every ``tools/*.py`` script shares: config loading and checking, one-line errors."""
import argparse
import difflib
import inspect
import os
import os.path as osp
import shutil
import sys
import tempfile
from contextlib import contextmanager

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mm_ssl.engine.checkpoint import WRITE_ERRNOS
from mm_ssl.errors import ConfigError, MMSSLError, OutputError

__all__ = ['DictAction', 'load_config', 'check_config', 'check_writable', 'exit_on_error',
           'rollback_work_dir', 'positive_int']

# top-level keys the runner reads: Runner.__init__'s arguments, mmengine's runner_type and
# SSLRunner's own; configs hold helper variables besides (data_root, view, ...)
RUNNER_KEYS = frozenset(inspect.signature(Runner.__init__).parameters) - {'self', 'cfg'} | {
    'runner_type', 'model_wrapper_cfg', 'skip_nonfinite', 'sync_bn', 'find_unused_parameters',
    'device'}
# a helper variable this close to a runner key is a typo of it (trian_cfg, optim_wraper)
TYPO_CUTOFF = 0.85


def _positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _non_negative_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _positive_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


# (dotted key, check, what it must be): the values a typo or a quoted number breaks late
VALUE_CHECKS = [(f'train_cfg.{key}', _positive_int, 'a positive int')
                for key in ('max_epochs', 'max_iters', 'val_interval')] + [
    (f'{loader}.{key}', check, what)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    for key, check, what in (('batch_size', _positive_int, 'a positive int'),
                             ('num_workers', _non_negative_int, 'an int >= 0'))] + [
    ('optim_wrapper.optimizer.lr', _positive_number, 'a positive number'),
    ('skip_nonfinite', _non_negative_int, 'an int >= 0')]


def positive_int(text: str) -> int:
    """argparse ``type`` for counts that must be >= 1 (seeds, iterations, frames): a 0 is
    refused when the command is read, not after an hour of pretraining."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def load_config(path: str, cfg_options: dict | None = None) -> Config:
    if not osp.isfile(path):
        raise ConfigError(f'{path}: config file not found')
    try:
        cfg = Config.fromfile(path)
    except Exception as exc:
        raise ConfigError(f'{path}: cannot parse config ({type(exc).__name__}: {exc})') from None
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    check_config(cfg, path)
    return cfg


def _lookup(cfg, dotted: str):
    """The value at ``a.b.c``, or None where a level is missing or not a dict."""
    value = cfg
    for part in dotted.split('.'):
        value = value.get(part) if isinstance(value, (Config, dict)) else None
    return value


def check_config(cfg: Config, path: str) -> None:
    """Raise :class:`ConfigError` naming ``path`` and the key for a top-level key that is a typo
    of a runner key (with the key it resembles), or a core value of the wrong type or sign."""
    for key in cfg.keys():
        if key in RUNNER_KEYS:
            continue
        close = difflib.get_close_matches(key, RUNNER_KEYS, n=1, cutoff=TYPO_CUTOFF)
        if close:
            raise ConfigError(f'{path}: unknown top-level key {key!r} (did you mean {close[0]!r}?)')
    for dotted, check, what in VALUE_CHECKS:
        value = _lookup(cfg, dotted)
        if value is not None and not check(value):
            raise ConfigError(f'{path}: {dotted} must be {what}, got {value!r}')


def check_writable(directory: str, what: str = 'work dir') -> None:
    """Create ``directory`` if needed and write a probe file in it, so that a read-only or full
    disk stops a tool before it spends any work, with :class:`OutputError` naming the folder."""
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory) as probe:
            probe.write(b'0')
            probe.flush()
    except OSError as exc:
        raise OutputError(f'{directory}: {what} not writable ({exc.strerror})') from None


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and 'registry' in str(exc):
        # mmengine: "'Foo is not in the mm_ssl::model registry. Please check ...'"
        message = str(exc).strip('"\'')
        return f'config: unknown type: {message.split(". ")[0]}'
    if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:   # full / read-only disk
        return f'{exc.filename}: {exc.strerror}' if exc.filename else f'OSError: {exc.strerror}'
    if isinstance(exc, (MMSSLError, FileNotFoundError)):
        # an error re-raised from a DataLoader worker carries the worker's traceback
        return str(exc).strip().splitlines()[-1] if 'Original Traceback' in str(exc) \
            else str(exc)
    return f'{type(exc).__name__}: {exc}'


@contextmanager
def exit_on_error():
    """Turn known failures (mm_ssl's errors, missing files, config mistakes, a disk that refuses
    a write) into ``error: <message>`` on stderr and exit status 2. Errors raised
    while mmengine builds a component arrive wrapped; the innermost cause is reported.
    ``MM_SSL_TRACEBACK=1`` shows the full traceback instead."""
    try:
        yield
    except (MMSSLError, OSError, KeyError, ValueError, TypeError) as exc:
        if os.environ.get('MM_SSL_TRACEBACK') or (
                isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError)
                and exc.errno not in WRITE_ERRNOS):
            raise
        while True:
            inner = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
            if not isinstance(inner, (MMSSLError, FileNotFoundError, KeyError)):
                break
            exc = inner
        print(f'error: {_one_line(exc)}', file=sys.stderr)
        sys.exit(2)


@contextmanager
def rollback_work_dir(work_dir: str):
    """Remove what a failed run created in ``work_dir`` when it wrote no checkpoint, so a run
    that stops on bad input leaves no half-written run directory behind."""
    existed = osp.isdir(work_dir)
    before = set(os.listdir(work_dir)) if existed else set()
    try:
        yield
    except BaseException:
        created = set(os.listdir(work_dir)) - before if osp.isdir(work_dir) else set()
        if not any(name.endswith('.pth') for name in created):
            for name in created:
                target = osp.join(work_dir, name)
                shutil.rmtree(target) if osp.isdir(target) else os.remove(target)
            if not existed and osp.isdir(work_dir) and not os.listdir(work_dir):
                os.rmdir(work_dir)
        raise
