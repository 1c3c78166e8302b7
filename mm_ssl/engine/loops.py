from mmengine.runner import BaseLoop

from mm_ssl.evaluation import extract_features, knn_accuracy
from mm_ssl.registry import LOOPS


@LOOPS.register_module()
class KNNValLoop(BaseLoop):
    """Validation by weighted kNN: features of ``memory_dataloader`` (the training images without
    augmentation) are the bank, the val dataloader's images the queries. Reports ``knn_top1``
    through mmengine's hooks, so it reaches the console, TensorBoard and the scalars log.

    Config: ``val_cfg = dict(type='KNNValLoop', memory_dataloader=dict(...), k=200, temperature=0.07)``
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
