import itertools

import torch
import torch.nn as nn

from mm_ssl.registry import MODELS


@MODELS.register_module()
class PairwiseOrderHead(nn.Module):
    """Order classifier on the features of N frames or clips given in some order: every pair
    (i < j) is embedded by a shared layer, the pair embeddings are concatenated and classified
    (OPN, Lee et al. 2017 §3.2; VCOP, Xu et al. 2019 §3.2).

    A pair enters as ``[f_j - f_i; |f_j - f_i|]`` (``pair_input='difference'``, the default), or
    as the papers' concatenation ``[f_i; f_j]`` (``'concat'``). Why the difference: the items of
    one tuple come from one video, so their features share that video's look, which varies far
    more between videos than any frame changes within one; in the concatenation the look fills
    the pair embedding (and its batch statistics) and the small change that carries the order is
    left for the head to find by cancelling weights. On the synthetic motion set OPN with the
    concatenation stayed at chance (held-out order accuracy 6.2%, chance 8.3%, 60 CPU-s, lr 0.03)
    and with the difference reached 57.5% (``benchmarks/README.md``, "Video tasks"). The signed
    difference says which way a pair changes, its magnitude how far apart the two items are.
    ``pairwise=False`` classifies the N features concatenated (Shuffle and Learn, Misra et al.
    2016: fc8 on the concatenated fc7 features).

    The pair embedding is h = LeakyReLU(BN(W x)) by default, and the papers'
    h = ReLU(W x + b) with ``norm=False, negative_slope=0``. Why: the frames of one video look
    alike, so early in training each hidden unit's pre-activation is nearly one number for the
    whole batch. One SGD step that moves it below zero silences a ReLU unit for every sample, and
    no gradient brings it back. At SGD lr 0.05 (momentum 0.9, batch 8) the papers' head lost every
    unit within ~150 steps that way: its logits then equal the classifier's bias and the
    encoder's gradient is exactly zero. Batch normalisation spreads each unit over the batch
    again (so the logits keep depending on the input) and the leaky slope keeps a gradient on
    units that a large step pushed below zero (BN + ReLU alone still lost 90% of its units at
    lr 0.05). :class:`~mm_ssl.engine.health.TaskHeadHealthHook` raises the alarm when a head dies.

    Shape:
        - input: (B, N, in_dim); output: (B, num_classes) logits.
    """

    def __init__(self, in_dim: int, num_items: int, num_classes: int, hidden_dim: int = 256,
                 pairwise: bool = True, dropout: float = 0.0, norm: bool = True,
                 negative_slope: float = 0.1, pair_input: str = 'difference'):
        super().__init__()
        if pair_input not in ('difference', 'concat'):
            raise ValueError(f"pair_input must be 'difference' or 'concat', got {pair_input!r}")
        self.pairs = list(itertools.combinations(range(num_items), 2)) if pairwise else None
        self.pair_input = pair_input
        groups = len(self.pairs) if pairwise else 1
        group_in = 2 * in_dim if pairwise else num_items * in_dim
        self.fc = nn.Linear(group_in, hidden_dim, bias=not norm)  # BN's shift replaces the bias
        self.norm = nn.BatchNorm1d(hidden_dim) if norm else nn.Identity()
        self.act = nn.LeakyReLU(negative_slope, inplace=True) if negative_slope else \
            nn.ReLU(inplace=True)
        self.classifier = nn.Sequential(nn.Dropout(dropout),
                                        nn.Linear(groups * hidden_dim, num_classes))

    def forward(self, feats):
        if self.pairs is None:
            groups = feats.flatten(1)[:, None]                                # (B, 1, N*D)
        else:
            i, j = zip(*self.pairs)
            first, second = feats[:, list(i)], feats[:, list(j)]               # (B, P, D) each
            if self.pair_input == 'difference':
                change = second - first
                groups = torch.cat([change, change.abs()], -1)                 # (B, P, 2D)
            else:
                groups = torch.cat([first, second], -1)                        # (B, P, 2D)
        b, p = groups.shape[:2]
        # one shared embedding for all pairs: normalised over the B * P pair vectors
        hidden = self.act(self.norm(self.fc(groups.flatten(0, 1))))        # (B*P, hidden)
        return self.classifier(hidden.view(b, -1))
