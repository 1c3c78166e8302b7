"""Order verification / prediction: which order were these frames or clips given in?

The order classes and their random draws come first: every sampler returns, per sample, the
positions (into frames or clips stored in temporal order) to feed the network in that order, and
the class label to predict. The methods (Shuffle and Learn, OPN, VCOP) follow.
"""
import itertools

import torch
import torch.nn.functional as F

from mm_ssl.models.heads import PairwiseOrderHead
from mm_ssl.registry import MODELS

from .base import BaseSSL

# Shuffle and Learn (Misra et al. 2016, §3.1), positions into the sorted tuple (a, b, c, d, e)
SHUFFLE_LEARN_POSITIVES = ((1, 2, 3), (3, 2, 1))   # (b, c, d), (d, c, b)
SHUFFLE_LEARN_NEGATIVES = ((1, 0, 3), (1, 4, 3))   # (b, a, d), (b, e, d)


def permutation_classes(num_items: int, merge_reverse: bool = False) -> torch.Tensor:
    """The orders of ``num_items`` items, one row per class, in lexicographic order.

    ``merge_reverse`` makes an order and its reverse one class (OPN, Lee et al. 2017: 4 frames,
    24 / 2 = 12 classes — forward and backward playback look alike); the row kept is the one whose
    first item is smaller than its last. Without it, VCOP's 3! = 6 classes (Xu et al. 2019).

    Shape:
        Output: int64 (num_items! / (2 if merge_reverse else 1), num_items).
    """
    perms = itertools.permutations(range(num_items))
    return torch.tensor([p for p in perms if not merge_reverse or p[0] < p[-1]])


def sample_orders(classes: torch.Tensor, n: int, merge_reverse: bool = False,
                  generator: torch.Generator | None = None, device='cpu'):
    """``n`` uniform class draws; with ``merge_reverse`` each order is reversed with p = 1/2.

    Returns:
        orders (n, num_items) int64 positions, labels (n,) int64 rows of ``classes``.
    """
    kw = dict(generator=generator, device=generator.device if generator is not None else 'cpu')
    labels = torch.randint(len(classes), (n,), **kw)
    orders = classes.to(labels.device)[labels]
    if merge_reverse:
        orders = torch.where(torch.rand(n, 1, **kw) < 0.5, orders.flip(1), orders)
    return orders.to(device), labels.to(device)


def sample_shuffle_learn(n: int, negative_share: float = 0.75,
                         generator: torch.Generator | None = None, device='cpu'):
    """Shuffle and Learn tuples: each sample is a negative with probability ``negative_share``
    (the paper's best: 75%); positives are (b, c, d) or (d, c, b), negatives (b, a, d) or
    (b, e, d), each with p = 1/2.

    Returns:
        positions (n, 3) int64 into the sorted (a, b, c, d, e); labels (n,) int64, 1 = in order.
    """
    kw = dict(generator=generator, device=generator.device if generator is not None else 'cpu')
    negative = torch.rand(n, **kw) < negative_share
    pick = torch.randint(2, (n,), **kw)
    positives = torch.tensor(SHUFFLE_LEARN_POSITIVES, device=pick.device)[pick]
    negatives = torch.tensor(SHUFFLE_LEARN_NEGATIVES, device=pick.device)[pick]
    positions = torch.where(negative[:, None], negatives, positives)
    return positions.to(device), (~negative).long().to(device)


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
    frame_level = False

    def __init__(self, encoder: dict, head: dict = dict(hidden_dim=256), **kwargs):
        super().__init__(encoder, **kwargs)
        self.head = PairwiseOrderHead(self.encoder.feat_dim, self.num_items, self.num_classes,
                                      **head)

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
    (b, e, d)? ``negative_share`` of the tuples are negatives (75% worked best in the paper). The
    paper classifies the concatenated frame features; here the three frames' pairwise feature
    differences (:class:`PairwiseOrderHead`, which says why: on the synthetic set the
    concatenation never left its "always shuffled" answer).

    A frame-level method (``frame_level = True``): trained on single frames (T = 1), evaluated
    frame by frame (:func:`~mm_ssl.evaluation.video.frame_sequence_features`), not on clips,
    whose temporal kernel taps it never trained.

    Shape:
        views[0]: (B, 5, C, 1, H, W), frames a..e in temporal order.
    """
    num_items, num_classes = 3, 2
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
