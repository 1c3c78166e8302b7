"""Evaluation of a config's pretrained encoder on the config's own data: kNN and a linear probe on
frozen image features, or 3D detection transfer for a point encoder."""
import os.path as osp

import torch
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mm_ssl.errors import ConfigError
from mm_ssl.models.checkpoint import check_matches, read_checkpoint
from mm_ssl.models.encoders.voxel_backbone import POINT_ENCODERS
from mm_ssl.registry import MODELS

from .det3d import VoxelCenterDetector, compare_transfer, encoder_state
from .features import extract_features
from .knn import knn_accuracy
from .linear import linear_probe
from .video import evaluate_video, finetune


def supported_protocols(cfg) -> tuple[str, ...]:
    """The protocols that apply to ``cfg``: ``det3d`` for a model whose encoder is a point
    encoder (a ``VoxelBackBone8x``: SimIPU, LiDAR), ``video`` for a model of clips whose config
    lists its evaluation videos (``plain_train_dataset`` and ``test_dataset``), ``knn`` and
    ``linear`` for one whose config lists its labelled training images
    (``val_cfg.memory_dataloader``), none otherwise (the video configs)."""
    if (cfg.model.get('encoder') or {}).get('type') in POINT_ENCODERS:
        return ('det3d',)
    if cfg.get('plain_train_dataset') and cfg.get('test_dataset') and \
            (cfg.model.get('data_preprocessor') or {}).get('type') == 'VideoDataPreprocessor':
        return ('video',)
    if (cfg.get('val_cfg') or {}).get('memory_dataloader') is not None:
        return ('knn', 'linear')
    return ()


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
    if 'knn' not in supported_protocols(cfg):
        raise ConfigError('kNN and linear evaluation need val_cfg.memory_dataloader (the labelled '
                          'training images), which the config lacks')
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


def detection_transfer(cfg, checkpoint: str | None = None, seeds: int = 3, iters: int = 150,
                       labelled_frames: int = 16, frozen_encoder: bool = False,
                       device: str = 'cpu', log=print) -> dict:
    """BEV / 3D AP of the in-suite detector (:class:`VoxelCenterDetector`) fine-tuned from the
    point encoder of ``checkpoint`` (from scratch when None) on the config's own data and grid:
    ``train_dataloader.dataset.data_root``'s first ``labelled_frames`` ``train`` frames, scored on
    its ``val`` frames, on the voxel grid of ``model.data_preprocessor`` (the grid the encoder
    was pretrained on). One run per seed ``0 .. seeds - 1``; see
    :func:`~mm_ssl.evaluation.det3d.compare_transfer` for the recipe.

    Returns:
        ``{name: {'ap': [per-seed AP], 'loss': [per-seed losses], 'seconds': s}}`` with one
        entry, named after the checkpoint's file (``'random init'`` when None), as
        :func:`~mm_ssl.evaluation.det3d.transfer_table` takes it.
    """
    grid = cfg.model.data_preprocessor
    state, name = None, 'random init'
    if checkpoint is not None:
        state, name = encoder_state(checkpoint), osp.basename(checkpoint)
        # a point encoder of another architecture is one line naming the keys, not a traceback
        # from load_state_dict
        check_matches(VoxelCenterDetector(grid.voxel_size, grid.point_range).encoder.state_dict(),
                      state, checkpoint)
    return compare_transfer(cfg.train_dataloader.dataset.data_root, grid.voxel_size,
                            grid.point_range, {name: state}, seeds=range(seeds), iters=iters,
                            labelled_frames=labelled_frames, freeze_encoder=frozen_encoder,
                            device=device, log=log)


def video_evaluation(cfg, model, linear_epochs: int = 100, finetune_epochs: int = 0,
                     batch_size: int = 16, num_workers: int = 2) -> dict:
    """The video protocols on the config's evaluation videos: retrieval recall@k of test videos
    against train videos and linear probes on clip and video features
    (:func:`~mm_ssl.evaluation.video.evaluate_video`), and with ``finetune_epochs`` the whole
    encoder fine-tuned with a linear head (:func:`~mm_ssl.evaluation.video.finetune`). The
    videos are ``plain_train_dataset`` and ``test_dataset`` (N uniform clips a video, no
    augmentation); frame-level methods are evaluated frame by frame, as they were trained."""
    init_default_scope(cfg.get('default_scope', 'mm_ssl'))
    train_loader, test_loader = (Runner.build_dataloader(dict(
        batch_size=batch_size, num_workers=num_workers,
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate'), dataset=dataset))
        for dataset in (cfg.plain_train_dataset, cfg.test_dataset))
    results = evaluate_video(model, train_loader, test_loader, linear_epochs=linear_epochs)
    results.update(num_train=len(train_loader.dataset), num_test=len(test_loader.dataset))
    if finetune_epochs:
        results.update(finetune(model, train_loader, test_loader,
                                train_loader.dataset.num_classes, epochs=finetune_epochs))
    return results
