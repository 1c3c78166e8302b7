"""What every ``tools/*.py`` script shares: config loading and checking, one-line errors."""
import argparse
import difflib
import errno
import fcntl
import glob
import inspect
import os
import os.path as osp
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager

from mmengine.config import Config
from mmengine.config import DictAction as MMEngineDictAction
from mmengine.runner import Runner

from mm_ssl.fileio import WRITE_ERRNOS
from mm_ssl.errors import ConfigError, MMSSLError, OutputError, WorkDirError

__all__ = ['DictAction', 'load_config', 'check_config', 'check_writable', 'exit_on_error',
           'rollback_work_dir', 'positive_int', 'non_negative_int', 'positive_float',
           'lock_work_dir',
           'refuse_overwrite', 'check_launcher']

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


class DictAction(MMEngineDictAction):
    """mmengine's ``KEY=VALUE`` option parser, with a usage error naming the option for an item
    without ``=`` or with unbalanced brackets (mmengine raises ValueError / AssertionError)."""

    def __call__(self, parser, namespace, values, option_string=None):
        for item in values:
            key, eq, value = item.partition('=')
            if not eq or not key:
                parser.error(f'{option_string} {item!r}: expected KEY=VALUE, e.g. '
                             'train_cfg.max_epochs=5')
            if any(value.count(a) != value.count(b) for a, b in ('()', '[]', '{}')):
                parser.error(f'{option_string} {item!r}: unbalanced brackets in the value')
            if re.match(r'\s*\w+\s*\(', value):
                parser.error(f'{option_string} {item!r}: a value is a number, string, list or '
                             f'tuple, not a call; set a dict entry by entry, e.g. {key}.type=X '
                             f'{key}.max_epochs=5')
        try:
            super().__call__(parser, namespace, values, option_string)
        except (AssertionError, ValueError, RecursionError) as exc:
            parser.error(f'{option_string} {" ".join(values)!r}: cannot parse ({exc})')


def positive_int(text: str) -> int:
    """argparse ``type`` for counts that must be >= 1 (seeds, iterations, frames): a 0 is
    refused when the command is read, not after an hour of pretraining."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def non_negative_int(text: str) -> int:
    """argparse ``type`` for counts where 0 means "skip" (fine-tuning epochs)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f'must be >= 0, got {value}')
    return value


def positive_float(text: str) -> float:
    """argparse ``type`` for scales that must be > 0 (a temperature): a 0 or a negative value
    would be divided by or flip a softmax, so it is refused when the command is read."""
    value = float(text)
    if not value > 0:   # also refuses nan
        raise argparse.ArgumentTypeError(f'must be > 0, got {value:g}')
    return value


def load_config(path: str, cfg_options: dict | None = None) -> Config:
    if not osp.isfile(path):
        raise ConfigError(f'{path}: config file not found')
    try:
        cfg = Config.fromfile(path)
    except Exception as exc:
        raise ConfigError(f'{path}: cannot parse config ({type(exc).__name__}: {exc})') from None
    if cfg_options:
        cfg.merge_from_dict(_resolve_top_level_options(cfg, cfg_options, path))
    check_config(cfg, path)
    return cfg


def _entries(node, prefix=''):
    """(dotted key, value) of every leaf of a config (lists indexed by position)."""
    items = node.items() if isinstance(node, (Config, dict)) else \
        enumerate(node) if isinstance(node, (list, tuple)) else None
    if items is None:
        yield prefix, node
        return
    for key, value in items:
        yield from _entries(value, f'{prefix}.{key}' if prefix else str(key))


def _resolve_top_level_options(cfg: Config, options: dict, path: str) -> dict:
    """``--cfg-options`` with top-level keys checked. A runner key, or a key inside a dict, is
    kept. A config variable (``data_root``) was already read into the entries it built when the
    file was executed, so setting it alone changes nothing: a string variable is replaced in every
    string entry that equals it or continues it as a path (``data_root/ann.pkl``); any other
    variable, or an unknown key, is a :class:`ConfigError` naming the entries to set instead."""
    resolved = {}
    for dotted, value in options.items():
        top = dotted.split('.')[0]
        if top in RUNNER_KEYS or '.' in dotted and top in cfg:
            resolved[dotted] = value
            continue
        if top not in cfg:
            close = difflib.get_close_matches(top, list(cfg.keys()) + sorted(RUNNER_KEYS), n=1)
            hint = f' (did you mean {close[0]!r}?)' if close else ''
            raise ConfigError(f'{path}: --cfg-options {dotted}: no top-level key {top!r} in the '
                              f'config{hint}')
        old = cfg[top]
        if isinstance(old, str) and isinstance(value, str) and old:
            derived = {key: value + leaf[len(old):] for key, leaf in _entries(cfg)
                       if key != top and isinstance(leaf, str)
                       and (leaf == old or leaf.startswith(old.rstrip('/') + '/'))}
            resolved.update({top: value, **derived})
            continue
        users = [key for key, leaf in _entries(cfg) if key != top and leaf == old]
        raise ConfigError(f'{path}: --cfg-options {dotted}: {top!r} is a variable of the config '
                          'file, already read into the entries it set when the file was loaded; '
                          'set those entries instead' +
                          (f', e.g. {", ".join(users[:4])}' if users else ''))
    return resolved


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


LOCK_NAME = '.mm_ssl.lock'


@contextmanager
def lock_work_dir(work_dir: str):
    """Hold an exclusive lock on ``work_dir`` for the block: a second run into the same folder
    stops at once with :class:`WorkDirError` naming the holder's pid, instead of both runs
    writing checkpoints and configs over each other. The lock is a POSIX record lock
    (``lockf``) on ``WORK_DIR/.mm_ssl.lock``: the kernel drops it when its holder dies (SIGKILL,
    power loss), so a stale lock file never blocks a later run, and unlike ``flock`` it is not
    inherited by forked DataLoader workers, which outlive a killed trainer by seconds."""
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, LOCK_NAME)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            holder = os.pread(fd, 200, 0).decode(errors='replace').strip() or 'unknown'
            os.close(fd)
            raise WorkDirError(f'{work_dir}: another run is writing into this work dir '
                               f'({holder}); wait for it, or pick another --work-dir') from None
        # the holder before us may have removed the file between our open and our lock
        if osp.exists(path) and os.stat(path).st_ino == os.fstat(fd).st_ino:
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f'pid {os.getpid()} on {os.uname().nodename}'.encode(), 0)
    try:
        yield
    finally:
        if osp.lexists(path):
            os.remove(path)
        os.close(fd)


def refuse_overwrite(work_dir: str) -> None:
    """Raise :class:`WorkDirError` when ``work_dir`` holds checkpoints of an earlier run: a run
    started there without ``--resume`` would overwrite them (same names, new weights)."""
    found = sorted(glob.glob(osp.join(work_dir, '*.pth')), key=osp.getmtime)
    if found:
        raise WorkDirError(f'{work_dir}: holds checkpoints of an earlier run ('
                           f'{", ".join(osp.basename(p) for p in found[-3:])}); continue it with '
                           '--resume, or pick another --work-dir')


def check_launcher(launcher: str) -> None:
    """Raise :class:`ConfigError` when ``--launcher`` names a launcher whose environment is not
    there (torchrun's ranks, Slurm's), with the command that sets it."""
    missing = {'pytorch': ['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'],
               'slurm': ['SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST']}.get(launcher, [])
    missing = [name for name in missing if name not in os.environ]
    if not missing:
        return
    how = ('start it with tools/dist_train.sh CONFIG NUM_PROCS (or torchrun --nproc_per_node '
           'NUM_PROCS tools/train.py CONFIG --launcher pytorch)') if launcher == 'pytorch' else \
        'start it with tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [GPUS]'
    raise ConfigError(f'--launcher {launcher}: {", ".join(missing)} not set: this process was '
                      f'not started by {"torchrun" if launcher == "pytorch" else "srun"}; {how}; '
                      'without --launcher it trains in this one process')
