"""One progress bar for every tool, data_prep script and evaluation: tqdm, label first, on stderr.

On a terminal the bar redraws in place; in a log file or a CI console (not a tty) it prints a
fresh line at most every 30 s, so long work is never silent and logs stay short."""
import sys

from tqdm import tqdm

__all__ = ['progress']


def progress(iterable=None, desc: str = '', total: int | None = None, unit: str = 'it',
             disable: bool = False, **kwargs) -> tqdm:
    """``tqdm(iterable)`` with mm_ssl's settings: ``desc`` leads the line, rate and ETA follow,
    ``bar.set_postfix(loss=...)`` shows the key metrics after them.

    Example:
        >>> for frame in progress(frames, desc='writing frames', unit='frame'):
        ...     write(frame)
    """
    interactive = sys.stderr.isatty()
    return tqdm(iterable, desc=desc, total=total, unit=unit, disable=disable,
                file=sys.stderr, dynamic_ncols=interactive,
                mininterval=0.1 if interactive else 30.0, leave=True, **kwargs)
