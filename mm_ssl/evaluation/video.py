"""Video evaluation: clip features averaged per video, nearest-neighbour retrieval (test queries
against the train gallery, VCOP / TaCo protocol), linear probe and fine-tuning."""
import copy
from functools import partial

import torch
import torch.nn.functional as F
from mmengine.model import is_model_wrapper

from mm_ssl.models.heads import LinearClsHead

from .linear import linear_probe

RETRIEVAL_KS = (1, 5, 10, 20, 50)


def _clips(data: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A preprocessed batch as single clips (N, C, T, H, W) with their labels and video indices;
    samples of K uniform clips (B, K, C, T, H, W) become B*K clips."""
    x, samples = data['inputs'], data['data_samples']
    k = x.shape[1] if x.dim() == 6 else 1
    label, video = (torch.as_tensor(samples[key]).long().repeat_interleave(k)
                    for key in ('label', 'video_idx'))
    return (x.flatten(0, 1) if x.dim() == 6 else x), label, video


def frame_sequence_features(model, clips: torch.Tensor) -> torch.Tensor:
    """Features of a clip for a model trained on single frames (T = 1): the encoder sees each
    frame on its own, as in its training, and the clip's feature is its frame features in
    temporal order, concatenated — so a linear probe or a nearest neighbour can still compare
    frames across time, which the papers' mean over frames (Misra et al. 2016) would hide.

    Shape:
        clips: (N, C, T, H, W). Output: (N, T * D).
    """
    n, c, t, h, w = clips.shape
    frames = clips.transpose(1, 2).reshape(n * t, c, 1, h, w)
    return model(frames, mode='tensor').view(n, -1)


def _unwrapped(model, per_frame: bool | None):
    """The model without its DDP wrapper, and whether it is evaluated frame by frame (default:
    its ``frame_level`` attribute)."""
    model = model.module if is_model_wrapper(model) else model
    return model, getattr(model, 'frame_level', False) if per_frame is None else per_frame


@torch.no_grad()
def extract_clip_features(model, dataloader, per_frame: bool | None = None
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Encoder features of every clip of a video dataset (model in eval mode, no augmentation);
    samples holding K clips give K rows. ``per_frame`` (default: the model's ``frame_level``
    attribute, set by the methods that train on single frames) encodes each frame on its own
    (:func:`frame_sequence_features`) instead of the whole clip.

    Returns:
        (N, D) float features (N, T * D with ``per_frame``), (N,) int64 labels and (N,) int64
        video indices.
    """
    model, per_frame = _unwrapped(model, per_frame)
    was_training = model.training
    model.eval()
    feats, labels, videos = [], [], []
    for batch in dataloader:
        x, label, video = _clips(model.data_preprocessor(batch, training=False))
        feats.append((frame_sequence_features(model, x) if per_frame
                      else model(x, mode='tensor')).float())
        labels.append(label)
        videos.append(video)
    model.train(was_training)
    return torch.cat(feats), torch.cat(labels), torch.cat(videos)


def video_level(feats: torch.Tensor, labels: torch.Tensor, video_idx: torch.Tensor):
    """Mean feature of the clips of each video (the N uniform clips of the evaluation protocol).

    Shape:
        feats: (N, D); labels, video_idx: (N,). Output: (V, D) features and (V,) labels, videos
        in ascending index order.
    """
    videos, inverse = video_idx.unique(return_inverse=True)
    sums = torch.zeros(len(videos), feats.shape[1], dtype=feats.dtype, device=feats.device)
    sums.index_add_(0, inverse, feats)
    counts = torch.bincount(inverse, minlength=len(videos)).to(feats.dtype)
    video_labels = torch.zeros(len(videos), dtype=labels.dtype, device=labels.device)
    video_labels[inverse] = labels
    return sums / counts[:, None], video_labels


def feature_change(feats: torch.Tensor, labels: torch.Tensor, video_idx: torch.Tensor,
                   frames: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """How each video's features move over time: the mean step of its feature sequence,
    Δz = (z_n − z_1) / (n − 1). The time steps are the video's clips in the order they were
    sampled (``frames=1``) or, for frame-level features (:func:`frame_sequence_features`,
    ``frames=T``), the frames of each clip, averaged over the video's clips.

    A representation that encodes the state of a moving object (its position, size or angle)
    rather than its motion, which is what order tasks ask for (their heads compare two items by
    their difference), holds the motion in Δz, while the mean over the clips of a video
    (:func:`video_level`) averages it away.

    Shape:
        feats: (N, D), or (N, T * D) with ``frames=T``; labels, video_idx: (N,); the clips of a
        video in temporal order. Output: (V, D) changes and (V,) labels, videos in ascending
        index order.
    """
    if frames > 1:
        steps = feats.view(len(feats), frames, -1)                          # (N, T, D)
        return video_level((steps[:, -1] - steps[:, 0]) / (frames - 1), labels, video_idx)
    videos, inverse = video_idx.unique(return_inverse=True)
    counts = torch.bincount(inverse, minlength=len(videos))
    if counts.min() < 2:
        raise ValueError('feature_change: a video with one clip has no change over time; sample '
                         'at least 2 clips a video (num_clips)')
    position = torch.arange(len(feats), device=feats.device)
    first = torch.full((len(videos),), len(feats), device=feats.device).scatter_reduce(
        0, inverse, position, 'amin')
    last = torch.zeros(len(videos), dtype=torch.long, device=feats.device).scatter_reduce(
        0, inverse, position, 'amax')
    change = (feats[last] - feats[first]) / (counts - 1).to(feats.dtype)[:, None]
    return change, labels[first]


@torch.no_grad()
def retrieval_recall(query_feats: torch.Tensor, query_labels: torch.Tensor,
                     gallery_feats: torch.Tensor, gallery_labels: torch.Tensor,
                     ks=RETRIEVAL_KS) -> dict[int, float]:
    """Top-k retrieval recall (%): a query is a hit when one of its k nearest gallery items by
    cosine similarity has its class (Xu et al. 2019, VCOP §4.4). ``k`` above the gallery size is
    clamped to it.

    Shape:
        query_feats: (M, D); query_labels: (M,); gallery_feats: (N, D); gallery_labels: (N,).
    """
    sim = F.normalize(query_feats.float(), dim=1) @ F.normalize(gallery_feats.float(), dim=1).T
    order = sim.topk(min(max(ks), len(gallery_feats)), dim=1).indices        # (M, kmax)
    hits = gallery_labels[order] == query_labels[:, None]                    # (M, kmax)
    return {k: hits[:, :k].any(1).float().mean().item() * 100 for k in ks}


def finetune(model, train_loader, test_loader, num_classes: int, epochs: int = 5,
             lr: float = 0.01, weight_decay: float = 1e-4) -> dict[str, float]:
    """Fine-tunes a copy of the model's encoder with a linear head (SGD + cosine lr, clips
    without augmentation) and returns clip- and video-level test accuracy (%); the video
    prediction averages the softmax of its clips.
    """
    model = copy.deepcopy(model.module if is_model_wrapper(model) else model)
    encoder, pre = model.encoder, model.data_preprocessor
    head = LinearClsHead(encoder.feat_dim, num_classes).to(next(encoder.parameters()).device)
    params = list(encoder.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * len(train_loader))
    encoder.train(), head.train()
    for _ in range(epochs):
        for batch in train_loader:
            x, label, _ = _clips(pre(batch, training=False))
            loss = F.cross_entropy(head(encoder(x)), label)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    encoder.eval(), head.eval()
    probs, labels, videos = [], [], []
    with torch.no_grad():
        for batch in test_loader:
            x, label, video = _clips(pre(batch, training=False))
            probs.append(head(encoder(x)).softmax(1))
            labels.append(label)
            videos.append(video)
    probs, labels, videos = torch.cat(probs), torch.cat(labels), torch.cat(videos)
    video_probs, video_labels = video_level(probs, labels, videos)
    return dict(finetune_clip=(probs.argmax(1) == labels).float().mean().item() * 100,
                finetune_video=(video_probs.argmax(1) == video_labels).float().mean().item() * 100)


def evaluate_video(model, train_loader, test_loader, ks=RETRIEVAL_KS,
                   linear_epochs: int = 100, per_frame: bool | None = None) -> dict[str, float]:
    """Frozen-encoder evaluation of a video model: retrieval recall@k of test videos against train
    videos (mean feature of each video's clips) and linear-probe accuracy on clip features
    (``linear_clip``) and on video-mean features (``linear_video``); the same retrieval and
    video probe on each video's feature change over time (:func:`feature_change`:
    ``change_recall@k``, ``change_linear``). ``per_frame``: see :func:`extract_clip_features`
    (frame-level methods are evaluated frame by frame, as they were trained)."""
    module, per_frame = _unwrapped(model, per_frame)
    train = extract_clip_features(model, train_loader, per_frame)
    test = extract_clip_features(model, test_loader, per_frame)
    num_classes = int(max(train[1].max(), test[1].max())) + 1
    frames = train[0].shape[1] // module.encoder.feat_dim if per_frame else 1
    out = {}
    summaries = (('', video_level), ('change_', partial(feature_change, frames=frames)))
    for prefix, summary in summaries:
        train_v, train_vl = summary(*train)
        test_v, test_vl = summary(*test)
        out.update({f'{prefix}recall@{k}': r for k, r in
                    retrieval_recall(test_v, test_vl, train_v, train_vl, ks).items()})
        out[f'{prefix}linear' if prefix else 'linear_video'] = linear_probe(
            train_v, train_vl, test_v, test_vl, num_classes, epochs=linear_epochs)
    out['linear_clip'] = linear_probe(train[0], train[1], test[0], test[1], num_classes,
                                      epochs=linear_epochs)
    return out
