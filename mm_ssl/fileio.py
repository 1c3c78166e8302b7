"""Writing files so that a kill at any moment loses nothing, and what a refused write means."""
import errno
import os
import os.path as osp
from contextlib import contextmanager

from mm_ssl.errors import OutputError

__all__ = ['WRITE_ERRNOS', 'atomic_path']

# errno values that mean "this disk cannot take the write"
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES,
                          errno.EPERM})


@contextmanager
def atomic_path(path: str):
    """Yields a temporary name beside ``path`` to write to; once the block succeeds, the file is
    flushed to disk and renamed onto ``path``, and the rename itself made durable. ``path`` thus
    holds its old content or the complete new one, never a part, even if the process is killed
    or the machine loses power mid-write (a killed write leaves ``<path>.tmp`` behind).

    A write the disk refuses (full, read-only, over quota) raises :class:`OutputError` naming
    ``path``."""
    tmp = f'{path}.tmp'
    try:
        yield tmp
    except BaseException as exc:
        if osp.lexists(tmp):
            os.remove(tmp)
        if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
            kept = 'its previous content is kept' if osp.exists(path) else 'nothing was written'
            raise OutputError(f'{path}: cannot write ({exc.strerror}); {kept}') from exc
        raise
    with open(tmp, 'rb') as f:
        os.fsync(f.fileno())   # on the inode: also flushes what another handle wrote
    os.replace(tmp, path)
    directory = os.open(osp.dirname(osp.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
