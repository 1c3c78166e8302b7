"""One way for every dataset to meet a bad file: raise, or skip it, log it and serve the next good
sample (``on_bad_sample='skip'``). ``mm_ssl.engine.BadSampleCounterHook`` adds the skips up over
a run from the ``skipped`` string each sample carries."""
from collections import Counter

from mmengine.logging import MMLogger

from mm_ssl.errors import ConfigError, DataError

__all__ = ['SkipBadSamples']


class SkipBadSamples:
    """Mixin of datasets whose samples can fail to load with :class:`DataError`.

    A subclass calls :meth:`init_bad_samples` in its ``__init__`` and implements ``load(j)``
    (the sample before its ``pipeline``) and ``sample_key(j)`` (the file that makes sample
    ``j``, the key of ``skipped``); ``__getitem__`` returns :meth:`next_good_sample`.

    Attributes:
        skipped: file (or ``annotation:line``) -> message, for what was skipped so far in this
            process (each DataLoader worker keeps its own).
        skip_reasons: Counter of the ``reason`` attributes of the skipped errors (``missing``,
            ``unreadable``, ``too_short``, ...; ``unreadable`` where an error has none).
    """

    sample_noun = 'sample'

    def init_bad_samples(self, on_bad_sample: str) -> None:
        if on_bad_sample not in ('raise', 'skip'):
            raise ConfigError(f"{type(self).__name__}: on_bad_sample must be 'raise' or 'skip', "
                              f'got {on_bad_sample!r}')
        self.on_bad_sample = on_bad_sample
        self.skipped, self.skip_reasons = {}, Counter()

    def record_skip(self, exc: DataError, key: str | None = None) -> None:
        """Record a bad file (or raise ``exc`` in ``'raise'`` mode) and log it, under ``key``
        (default: the error's ``path``)."""
        if self.on_bad_sample == 'raise':
            raise exc
        self.skipped[key or getattr(exc, 'path', str(exc))] = str(exc)
        self.skip_reasons[getattr(exc, 'reason', 'unreadable')] += 1
        MMLogger.get_current_instance().warning(
            f'{type(self).__name__}: skipping a {self.sample_noun} ({len(self.skipped)} skipped '
            f'so far): {exc}')

    def next_good_sample(self, i: int) -> dict:
        """Sample ``i`` through the pipeline or, in ``'skip'`` mode, the first good one after it
        (wrapping around). Its ``skipped`` entry holds the messages of the samples skipped to
        reach it, one per line: a string collates in any worker."""
        tries = len(self) if self.on_bad_sample == 'skip' else 1
        skipped_here = []
        for j in ((i + k) % len(self) for k in range(tries)):
            key = str(self.sample_key(j))
            if key in self.skipped:
                continue
            try:
                sample = self.load(j)
            except DataError as exc:
                self.record_skip(exc, key)
                skipped_here.append(str(exc))
                continue
            for transform in self.pipeline:
                sample = transform(sample)
            sample['skipped'] = '\n'.join(skipped_here)
            return sample
        raise DataError(f'{self.bad_samples_source}: no readable {self.sample_noun} left, all '
                        f'{len(self)} skipped (see dataset.skipped)')
