"""Frozen-encoder evaluation of a config's model on its own train / test data."""
import torch
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mm_ssl.engine.checkpoint import check_matches, read_checkpoint
from mm_ssl.registry import MODELS

from .features import extract_features
from .knn import knn_accuracy
from .linear import linear_probe


def build_model(cfg, checkpoint: str | None = None, device: str | None = None):
    """The config's model with the encoder weights of ``checkpoint`` (random init when None)."""
    init_default_scope(cfg.get('default_scope', 'mm_ssl'))
    torch.manual_seed(cfg.get('randomness', {}).get('seed', 0) or 0)
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        state = read_checkpoint(checkpoint)
        check_matches(model.state_dict(), state, checkpoint, prefix='encoder.')
        model.encoder.load_state_dict(
            {k[len('encoder.'):]: v for k, v in state.items() if k.startswith('encoder.')})
    return model.to(device or ('cuda' if torch.cuda.is_available() else 'cpu'))


def evaluate(cfg, model, protocols=('knn', 'linear'), k: int = 200, temperature: float = 0.07,
             linear_epochs: int = 100, verbose: bool = True) -> dict:
    """Top-1 accuracy (%) of each protocol. The training images come from the kNN memory loader
    (no augmentation), the queries from ``val_dataloader``."""
    init_default_scope(cfg.get('default_scope', 'mm_ssl'))
    train_loader = Runner.build_dataloader(cfg.val_cfg.memory_dataloader)
    test_loader = Runner.build_dataloader(cfg.val_dataloader)
    train_feats, train_labels = extract_features(model, train_loader, 'train' if verbose else '')
    test_feats, test_labels = extract_features(model, test_loader, 'test' if verbose else '')
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    results = dict(num_train=len(train_feats), num_test=len(test_feats),
                   feature_dim=train_feats.shape[1])
    if 'knn' in protocols:
        results['knn_top1'] = knn_accuracy(train_feats, train_labels, test_feats, test_labels,
                                           num_classes, k, temperature)
    if 'linear' in protocols:
        results['linear_top1'] = linear_probe(train_feats, train_labels, test_feats, test_labels,
                                              num_classes, epochs=linear_epochs)
    return results
