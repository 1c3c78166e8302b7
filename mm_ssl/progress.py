"""One progress bar for every tool, data_prep script and evaluation: tqdm, label first.

On a terminal the bar redraws in place on stderr. Elsewhere (a log file, a pipe, CI) a redraw
cannot overwrite the last one: the bar's state is printed as a plain line on stdout at most every
30 s and at the end, so long work is never silent, logs stay short and stderr keeps only errors
and warnings."""
import sys

from tqdm import tqdm

__all__ = ['progress']

LOG_INTERVAL_S = 30.0


class _LineStream:
    """tqdm's redraws (``'\\r' + state``) as separate lines."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> None:
        line = text.replace('\r', '').rstrip()
        if line:
            self.stream.write(line + '\n')

    def flush(self) -> None:
        self.stream.flush()


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
                file=sys.stderr if interactive else _LineStream(sys.stdout),
                dynamic_ncols=interactive, mininterval=0.1 if interactive else LOG_INTERVAL_S,
                maxinterval=LOG_INTERVAL_S, leave=True, **kwargs)
