"""Order verification / prediction: which order were these frames or clips given in?"""
import torch
import torch.nn.functional as F

from mm_ssl.models.heads import PairwiseOrderHead
from mm_ssl.ops.temporal_order import permutation_classes, sample_orders, sample_shuffle_learn
from mm_ssl.registry import MODELS

from .base import BaseSSL


class OrderVerification(BaseSSL):
    """Shared body: the dataset stores a sample's frames / clips in temporal order; each step
    draws an order and its class per sample (:meth:`sample`), feeds the items in that order
    through the encoder and classifies the order from their features with a
    :class:`PairwiseOrderHead`.

    ``acc_order``: the share of samples whose order class the head predicts.

    Shape:
        views[0]: (B, N, C, T, H, W), N stored items in temporal order.
    """
    num_items: int
    num_classes: int
    pairwise = True
    frame_level = False

    def __init__(self, encoder: dict, head: dict = dict(hidden_dim=256), **kwargs):
        super().__init__(encoder, **kwargs)
        self.head = PairwiseOrderHead(self.encoder.feat_dim, self.num_items, self.num_classes,
                                      pairwise=self.pairwise, **head)

    def sample(self, n: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, num_items) positions into the stored items and (n,) class labels."""
        raise NotImplementedError

    def compute_loss(self, views):
        x = views[0]
        b = len(x)
        positions, labels = self.sample(b, x.device)
        ordered = x[torch.arange(b, device=x.device)[:, None], positions]  # (B, n, C, T, H, W)
        h = self.encoder(ordered.flatten(0, 1)).view(b, self.num_items, -1)  # (B, n, D)
        logits = self.head(h)
        acc = (logits.argmax(1) == labels).float().mean().detach() * 100
        return dict(loss=F.cross_entropy(logits, labels), acc_order=acc), h.mean(1)


@MODELS.register_module()
class ShuffleAndLearn(OrderVerification):
    """Shuffle and Learn (Misra et al. 2016): from five frames a < b < c < d < e of a high-motion
    window, is the triplet in temporal order — (b, c, d) or (d, c, b) — or not — (b, a, d) or
    (b, e, d)? Binary classifier on the concatenated frame features; ``negative_share`` of the
    tuples are negatives (75% worked best in the paper).

    A frame-level method (``frame_level = True``): trained on single frames (T = 1), evaluated
    frame by frame (:func:`~mm_ssl.evaluation.video.frame_sequence_features`), not on clips,
    whose temporal kernel taps it never trained.

    Shape:
        views[0]: (B, 5, C, 1, H, W), frames a..e in temporal order.
    """
    num_items, num_classes, pairwise = 3, 2, False
    frame_level = True

    def __init__(self, encoder: dict, negative_share: float = 0.75, **kwargs):
        super().__init__(encoder, **kwargs)
        self.negative_share = negative_share

    def sample(self, n, device):
        return sample_shuffle_learn(n, self.negative_share, device=device)


@MODELS.register_module()
class OPN(OrderVerification):
    """Order Prediction Network (Lee et al. 2017, "Sorting Sequences"): four frames in one
    of 4! = 24 orders, an order and its reverse merged into one of 12 classes; pairwise features.

    A frame-level method (``frame_level = True``): trained on single frames (T = 1), evaluated
    frame by frame (:func:`~mm_ssl.evaluation.video.frame_sequence_features`), not on clips,
    whose temporal kernel taps it never trained.

    Shape:
        views[0]: (B, 4, C, 1, H, W), frames in temporal order.
    """
    num_items, num_classes = 4, 12
    frame_level = True

    def __init__(self, encoder: dict, **kwargs):
        super().__init__(encoder, **kwargs)
        self.register_buffer('classes', permutation_classes(4, merge_reverse=True),
                             persistent=False)

    def sample(self, n, device):
        return sample_orders(self.classes.cpu(), n, merge_reverse=True, device=device)


@MODELS.register_module()
class VCOP(OrderVerification):
    """Video Clip Order Prediction (Xu et al. 2019): three clips, separated by gaps, shuffled into
    one of 3! = 6 orders; a 3D CNN encodes each clip and the order is classified from the
    pairwise clip features.

    Shape:
        views[0]: (B, 3, C, T, H, W), clips in temporal order.
    """
    num_items, num_classes = 3, 6

    def __init__(self, encoder: dict, **kwargs):
        super().__init__(encoder, **kwargs)
        self.register_buffer('classes', permutation_classes(3), persistent=False)

    def sample(self, n, device):
        return sample_orders(self.classes.cpu(), n, device=device)
