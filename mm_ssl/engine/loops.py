import itertools

from mmengine.runner import BaseLoop, EpochBasedTrainLoop

from mm_ssl.errors import CheckpointError
from mm_ssl.evaluation import extract_features, knn_accuracy
from mm_ssl.registry import LOOPS


@LOOPS.register_module(name=['EpochBasedTrainLoop', 'ResumableEpochBasedTrainLoop'])
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """mmengine's ``EpochBasedTrainLoop`` (configs name it ``EpochBasedTrainLoop``; in the
    ``mm_ssl`` scope they get this one), able to resume in the middle of an epoch.

    Resumed from an iteration checkpoint, mmengine's loop restarts the epoch from its first batch
    with the iteration counter already advanced: batches trained before the kill are trained
    again and the epoch's last ones never. Here the epoch goes on with the batch after the last
    one trained: a :class:`~mm_ssl.datasets.SeededSampler` leaves the trained samples out
    (nothing is loaded; their augmentation is per sample, so the rest are served exactly as in
    an uninterrupted run); with any other sampler the trained batches are loaded and dropped.
    """

    def run_epoch(self) -> None:
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        trained = self._iter - self._epoch * len(self.dataloader)   # > 0 only after a resume
        if not 0 <= trained <= len(self.dataloader):
            raise CheckpointError(
                f'resumed at iteration {self._iter} in epoch {self._epoch + 1}, which is not in '
                f'that epoch of {len(self.dataloader)} batches: the dataset or batch size '
                'changed since the checkpoint was written')
        sampler = getattr(self.dataloader.batch_sampler, 'sampler', None)
        drop = trained
        if trained:
            self.runner.logger.info(f'epoch {self._epoch + 1}: resuming after its first '
                                    f'{trained} of {len(self.dataloader)} batches')
            if hasattr(sampler, 'skip') and self.dataloader.batch_size:
                sampler.skip(trained * self.dataloader.batch_size)
                drop = 0
        batches = itertools.islice(self.dataloader, drop, None)
        for idx, data_batch in enumerate(batches, start=trained):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1


@LOOPS.register_module()
class KNNValLoop(BaseLoop):
    """Validation by weighted kNN: features of ``memory_dataloader`` (the training images without
    augmentation) are the bank, the val dataloader's images the queries. Reports ``knn_top1``
    through mmengine's hooks, so it reaches the console, TensorBoard and the scalars log.

    Config:
    ``val_cfg = dict(type='KNNValLoop', memory_dataloader=dict(...), k=200, temperature=0.07)``
    """

    def __init__(self, runner, dataloader, memory_dataloader, k: int = 200,
                 temperature: float = 0.07, evaluator=None):
        super().__init__(runner, dataloader)
        self.memory_dataloader = runner.build_dataloader(memory_dataloader, seed=runner.seed)
        self.k, self.temperature = k, temperature

    def run(self) -> dict:
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        bank, bank_labels = extract_features(self.runner.model, self.memory_dataloader)
        feats, labels = extract_features(self.runner.model, self.dataloader)
        num_classes = int(max(bank_labels.max(), labels.max())) + 1
        metrics = dict(knn_top1=knn_accuracy(bank, bank_labels, feats, labels, num_classes,
                                             self.k, self.temperature))
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        return metrics
