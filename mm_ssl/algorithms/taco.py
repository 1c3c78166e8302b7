import torch
import torch.nn as nn

from mm_ssl.errors import ConfigError
from mm_ssl.losses.temporal import taco_loss
from mm_ssl.models.memory import KeyQueue
from mm_ssl.models.momentum import MomentumTarget, cosine_momentum, training_progress
from mm_ssl.registry import MODELS
from mm_ssl.transforms.video import reverse_clip, rotate_clip, shuffle_clip, speed_indices

from .base import BaseSSL

OBJECTIVES = ('simclr', 'moco', 'byol')


@MODELS.register_module()
class TaCo(BaseSSL):
    """TaCo (Bai et al. 2020, "Can Temporal Information Help with Contrastive Self-Supervised
    Learning?"): temporal transformations serve as augmentations and as pretext tasks. For each
    transformation t (rotation: 4 classes, reversal: 2, shuffle: 2, speed: one per rate) a
    transformed clip is made from the second view; a projection head g_t and a task head h_t
    (which transformation?) follow the shared encoder. The original clip and its transformed
    version are positives of t's contrastive loss, the other clips of the batch (or MoCo's queue)
    negatives; the total is :func:`~mm_ssl.losses.temporal.taco_loss`.

    The contrastive loss comes from the core's objectives: ``simclr`` (``loss`` NTXentLoss between
    the two projections), ``moco`` (InfoNCELoss of each projection against the other clip's
    momentum key, a queue of keys per transformation) or ``byol`` (NormalizedMSELoss of a
    predictor per transformation against the momentum target's projection; no negatives).

    Args:
        neck: projection head config (one copy per transformation).
        head: BYOL predictor config (``objective='byol'`` only).
        clip_len: frames T of every clip fed to the encoder; the input views hold
            ``clip_len * max(speed_rates)`` frames so the fastest rate fits.
        task_weights: lambda_t, a float for all or a dict per transformation.

    Shape:
        views: 1 or 2 views (B, C, L, S, S), L >= clip_len * max(speed_rates); the original clip
        is the first ``clip_len`` frames of view 0, the transformed ones come from the last view.
    """

    def __init__(self, encoder: dict, neck: dict, clip_len: int = 8,
                 transforms=('rotation', 'reversal', 'shuffle', 'speed'),
                 speed_rates=(1, 2, 3, 4), shuffle_segments: int = 4, objective: str = 'simclr',
                 loss: dict = dict(type='NTXentLoss', temperature=0.5), head: dict | None = None,
                 queue_size: int = 4096, momentum: float = 0.99, task_weights=1.0, **kwargs):
        super().__init__(encoder, **kwargs)
        classes = dict(rotation=4, reversal=2, shuffle=2, speed=len(speed_rates))
        if unknown := set(transforms) - set(classes):
            raise ConfigError(f'TaCo: unknown transforms {sorted(unknown)}, known: {list(classes)}')
        if objective not in OBJECTIVES:
            raise ConfigError(f'TaCo: objective must be one of {OBJECTIVES}, got {objective!r}')
        if objective == 'byol' and head is None:
            raise ConfigError('TaCo: objective="byol" needs a predictor `head` config')
        self.transforms, self.objective = tuple(transforms), objective
        self.clip_len, self.speed_rates = clip_len, tuple(speed_rates)
        self.shuffle_segments, self.momentum = shuffle_segments, momentum
        self.task_weights = {t: task_weights.get(t, 1.0) if isinstance(task_weights, dict)
                             else float(task_weights) for t in self.transforms}
        feat = self.encoder.feat_dim
        self.projectors = nn.ModuleDict({t: self.build_mlp(neck, feat) for t in self.transforms})
        out_dim = next(iter(self.projectors.values())).out_dim
        self.task_heads = nn.ModuleDict({t: nn.Linear(feat, classes[t]) for t in self.transforms})
        self.criterion = MODELS.build(loss)
        if objective != 'simclr':
            self.target_encoder = MomentumTarget(self.encoder)
            self.target_projectors = nn.ModuleDict({t: MomentumTarget(self.projectors[t])
                                                    for t in self.transforms})
        if objective == 'moco':
            self.queues = nn.ModuleDict({t: KeyQueue(queue_size, out_dim)
                                         for t in self.transforms})
        if objective == 'byol':
            self.predictors = nn.ModuleDict({t: self.build_mlp(head, out_dim)
                                             for t in self.transforms})

    def transform(self, clips: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Each transformation of ``clips`` (B, C, L, S, S) with a random class per clip:
        {t: (transformed clips (B, C, clip_len, S, S), labels (B,))}."""
        b, t_len, dev = len(clips), self.clip_len, clips.device
        if clips.shape[2] < t_len * max(self.speed_rates):
            raise ValueError(f'TaCo: clips of {clips.shape[2]} frames, the speed transform needs '
                             f'clip_len * max(speed_rates) = {t_len * max(self.speed_rates)}')
        base = clips[:, :, :t_len]
        out = {}
        for t in self.transforms:
            label = torch.randint(self.task_heads[t].out_features, (b,), device=dev)
            if t == 'rotation':
                x = rotate_clip(base, label)
            elif t == 'reversal':
                x = reverse_clip(base, label.bool())
            elif t == 'shuffle':
                x = shuffle_clip(base, label.bool(), self.shuffle_segments)[0]
            else:
                rates = torch.tensor(self.speed_rates, device=dev)[label]
                idx = speed_indices(t_len, rates)                               # (B, T)
                x = clips.gather(2, idx.view(b, 1, t_len, 1, 1).expand_as(base))
            out[t] = (x, label)
        return out

    def contrast(self, t: str, q_orig, q_trans, k_orig, k_trans) -> torch.Tensor:
        """The core objective between the original (o) and transformed (t) clips' projections
        q (online) and keys k (momentum target; None for SimCLR), symmetrised."""
        if self.objective == 'simclr':
            return self.criterion(q_orig, q_trans)
        if self.objective == 'moco':
            negatives = self.queues[t].negatives().clone()
            loss = (self.criterion(q_orig, k_trans, negatives)
                    + self.criterion(q_trans, k_orig, negatives)) / 2
            self.queues[t].push(torch.cat([k_trans, k_orig]))
            return loss
        p_orig, p_trans = self.predictors[t](q_orig), self.predictors[t](q_trans)
        return (self.criterion(p_orig, k_trans) + self.criterion(p_trans, k_orig)) / 2

    def compute_loss(self, views):
        original = views[0][:, :, :self.clip_len]
        transformed = self.transform(views[-1])
        batch = torch.cat([original] + [x for x, _ in transformed.values()])  # ((1+n)B, ...)
        n = 1 + len(transformed)
        h = self.encoder(batch)                                            # ((1+n)B, D)
        h_orig, *h_trans = h.chunk(n)
        keys = [None] * n
        if self.objective != 'simclr':
            m = cosine_momentum(self.momentum, training_progress()) \
                if self.objective == 'byol' else self.momentum
            self.target_encoder.update(self.encoder, momentum=m)
            for t in self.transforms:
                self.target_projectors[t].update(self.projectors[t], momentum=m)
            keys = list(self.target_encoder(batch).chunk(n))
        contrastive, logits = {}, {}
        for i, t in enumerate(self.transforms, start=1):
            proj = self.projectors[t]
            k_orig = k_trans = None
            if keys[0] is not None:
                k_orig, k_trans = (self.target_projectors[t](keys[0]),
                                   self.target_projectors[t](keys[i]))
            contrastive[t] = self.contrast(t, proj(h_orig), proj(h_trans[i - 1]), k_orig, k_trans)
            logits[t] = self.task_heads[t](h_trans[i - 1])
        labels = {t: label for t, (_, label) in transformed.items()}
        return taco_loss(contrastive, logits, labels, self.task_weights), h_orig
