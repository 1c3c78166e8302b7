"""Text files of datasets (KITTI calib / label / split lists, video annotation lists), decoded
strictly, so that a stray byte is an error naming the file instead of a bare UnicodeDecodeError."""
from pathlib import Path

from mm_ssl.errors import DataError

__all__ = ['read_text']


def read_text(path) -> str:
    """The file decoded as UTF-8 (ASCII in every official KITTI, UCF101, HMDB51 and Kinetics
    release). A missing file, or a byte that is not UTF-8, raises :class:`DataError` naming the
    file (and line and byte): a binary file in a text folder, or text saved in Latin-1 / cp1252
    by an editor."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f'{path}: missing file')
    data = path.read_bytes()
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as exc:
        lineno = data.count(b'\n', 0, exc.start) + 1
        raise DataError(f'{path}:{lineno}: not valid UTF-8 text (byte 0x{data[exc.start]:02x} at '
                        f'offset {exc.start}); a binary file, or text saved in another encoding '
                        'such as Latin-1?') from None
