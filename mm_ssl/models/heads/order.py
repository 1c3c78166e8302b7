import itertools

import torch
import torch.nn as nn

from mm_ssl.registry import MODELS


@MODELS.register_module()
class PairwiseOrderHead(nn.Module):
    """Order classifier on the features of N frames or clips given in some order: every pair
    (i < j) is concatenated and embedded by a shared layer, the pair embeddings are concatenated
    and classified (OPN, Lee et al. 2017 §3.2; VCOP, Xu et al. 2019 §3.2). With
    ``pairwise=False`` the N features are concatenated directly (Shuffle and Learn, Misra et al.
    2016: fc8 on the concatenated fc7 features).

    Shape:
        - input: (B, N, in_dim); output: (B, num_classes) logits.
    """

    def __init__(self, in_dim: int, num_items: int, num_classes: int, hidden_dim: int = 256,
                 pairwise: bool = True, dropout: float = 0.0):
        super().__init__()
        self.pairs = list(itertools.combinations(range(num_items), 2)) if pairwise else None
        groups = len(self.pairs) if pairwise else 1
        group_in = 2 * in_dim if pairwise else num_items * in_dim
        self.embed = nn.Sequential(nn.Linear(group_in, hidden_dim), nn.ReLU(inplace=True))
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(groups * hidden_dim,
                                                                        num_classes))

    def forward(self, feats):
        if self.pairs is None:
            groups = feats.flatten(1)[:, None]                                # (B, 1, N*D)
        else:
            i, j = zip(*self.pairs)
            groups = torch.cat([feats[:, list(i)], feats[:, list(j)]], -1)  # (B, P, 2D)
        return self.classifier(self.embed(groups).flatten(1))
