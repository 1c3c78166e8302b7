import torch.nn.functional as F

from mm_ssl.losses.temporal import time_contrastive_nce, time_contrastive_triplet
from mm_ssl.registry import MODELS

from .base import BaseSSL


@MODELS.register_module()
class TimeContrastive(BaseSSL):
    """Frame similarity by time-contrastive learning (single-view TCN, Sermanet et al. 2018):
    frames near in time embed close, frames far apart (or from other videos) embed apart.

    Each sample holds K = 2 + M frames of one video in the order anchor, positive (within +-r of
    the anchor), M negatives (beyond the gap g), as ``VideoTaskDataset(task='tcn')`` draws them.
    ``form='nce'`` uses :func:`time_contrastive_nce` (other videos' frames are negatives too),
    ``form='triplet'`` :func:`time_contrastive_triplet`. ``acc_time``: the share of anchors whose
    positive is nearer (cosine) than each of their own negatives.

    A frame-level method (``frame_level = True``): it trains the encoder on single frames
    (T = 1), so :func:`~mm_ssl.evaluation.video.evaluate_video` encodes clips frame by frame too
    (a 3D CNN's temporal taps get no gradient from single frames and would dominate its features
    of a whole clip).

    Shape:
        views[0]: (B, K, C, T, H, W), T = 1 for single frames.
    """
    frame_level = True

    def __init__(self, encoder: dict, neck: dict, form: str = 'nce', temperature: float = 0.1,
                 margin: float = 0.2, **kwargs):
        super().__init__(encoder, **kwargs)
        if form not in ('nce', 'triplet'):
            raise ValueError(f'TimeContrastive: form must be "nce" or "triplet", got {form!r}')
        self.projector = self.build_mlp(neck, self.encoder.feat_dim)
        self.form, self.temperature, self.margin = form, temperature, margin

    def compute_loss(self, views):
        x = views[0]
        b, k = x.shape[:2]
        if k < 3:
            raise ValueError(f'TimeContrastive needs anchor, positive and >= 1 negative per '
                             f'sample, got {k} frames')
        h = self.encoder(x.flatten(0, 1))                               # (B*K, D)
        z = self.projector(h).view(b, k, -1)                            # (B, K, d)
        if self.form == 'nce':
            loss = time_contrastive_nce(z[:, 0], z[:, 1], z[:, 2:], self.temperature)
        else:
            loss = time_contrastive_triplet(z[:, 0], z[:, 1], z[:, 2:], self.margin)
        sim = (F.normalize(z[:, :1], dim=-1) * F.normalize(z[:, 1:], dim=-1)).sum(-1)  # (B, K-1)
        acc = (sim[:, 0] > sim[:, 1:].max(1).values).float().mean().detach() * 100
        return dict(loss=loss, acc_time=acc), h.view(b, k, -1)[:, 0]
