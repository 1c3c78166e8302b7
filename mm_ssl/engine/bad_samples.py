"""Counting the samples a dataset skipped (``on_bad_sample='skip'``) over a whole run.

A skip is logged where it happens, in whichever DataLoader worker read the file; the worker's
dataset object is not the main process's, so the count travels with the data instead: every
sample carries ``skipped``, the messages of the bad samples passed over to reach it, one per line.
"""
import json
import os.path as osp

from mmengine.hooks import Hook

from mm_ssl.registry import HOOKS


@HOOKS.register_module()
class BadSampleCounterHook(Hook):
    """Adds up the ``skipped`` messages of the training batches; logs the count at the end of
    each epoch that skipped anything and a summary at the end of the run, and writes the
    messages to ``<work_dir>/skipped_samples.json``. A bad file met again in a later epoch (or by
    another worker) is counted once: messages start with the file's path.

    Attributes:
        skipped: message -> times it was met.
    """

    priority = 'VERY_LOW'

    def __init__(self, show=10):
        self.show = show
        self.skipped = {}
        self._at_epoch_start = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if not isinstance(data_batch, dict):
            return
        for lines in data_batch.get('skipped') or ():
            for message in filter(None, str(lines).split('\n')):
                self.skipped[message] = self.skipped.get(message, 0) + 1

    def after_train_epoch(self, runner):
        new = len(self.skipped) - self._at_epoch_start
        if new:
            runner.logger.warning(f'epoch {runner.epoch + 1}: {new} bad samples skipped '
                                  f'({len(self.skipped)} in this run so far)')
        self._at_epoch_start = len(self.skipped)

    def after_run(self, runner):
        if not self.skipped:
            runner.logger.info('run summary: no bad samples skipped')
            return
        path = osp.join(runner.work_dir, 'skipped_samples.json')
        with open(path, 'w') as f:
            json.dump(sorted(self.skipped), f, indent=1)
        listed = '\n  '.join(sorted(self.skipped)[:self.show])
        more = f'\n  ... ({len(self.skipped) - self.show} more)' if len(self.skipped) > self.show \
            else ''
        runner.logger.warning(f'run summary: {len(self.skipped)} bad samples skipped (all listed '
                              f'in {path}):\n  {listed}{more}')
