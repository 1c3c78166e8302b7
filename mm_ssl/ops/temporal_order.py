"""Order classes of the order-verification tasks and their random draws.

Every sampler returns, per sample, the positions (into frames or clips stored in temporal order)
to feed the network in that order, and the class label to predict.
"""
import itertools

import torch

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
