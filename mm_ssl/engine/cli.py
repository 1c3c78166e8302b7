"""What every ``tools/*.py`` script shares: config loading and one-line errors."""
import os
import os.path as osp
import shutil
import sys
from contextlib import contextmanager

from mmengine.config import Config, DictAction

from mm_ssl.errors import ConfigError, MMSSLError

__all__ = ['DictAction', 'load_config', 'exit_on_error', 'rollback_work_dir']


def load_config(path: str, cfg_options: dict | None = None) -> Config:
    if not osp.isfile(path):
        raise ConfigError(f'{path}: config file not found')
    try:
        cfg = Config.fromfile(path)
    except Exception as exc:
        raise ConfigError(f'{path}: cannot parse config ({type(exc).__name__}: {exc})') from None
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and 'registry' in str(exc):
        # mmengine: "'Foo is not in the mm_ssl::model registry. Please check ...'"
        message = str(exc).strip('"\'')
        return f'config: unknown type: {message.split(". ")[0]}'
    if isinstance(exc, (MMSSLError, FileNotFoundError)):
        # an error re-raised from a DataLoader worker carries the worker's traceback
        return str(exc).strip().splitlines()[-1] if 'Original Traceback' in str(exc) \
            else str(exc)
    return f'{type(exc).__name__}: {exc}'


@contextmanager
def exit_on_error():
    """Turn known failures into ``error: <message>`` on stderr and exit status 2. Errors raised
    while mmengine builds a component arrive wrapped; the innermost cause is reported.
    ``MM_SSL_TRACEBACK=1`` shows the full traceback instead."""
    try:
        yield
    except (MMSSLError, FileNotFoundError, KeyError, ValueError, TypeError) as exc:
        if os.environ.get('MM_SSL_TRACEBACK'):
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
