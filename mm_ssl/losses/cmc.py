"""CMC's contrastive loss between views made of different channels."""
import itertools

import torch
import torch.nn as nn

from mm_ssl.registry import MODELS

from .contrastive import info_nce


def cmc_loss(embeddings: list[torch.Tensor], temperature: float = 0.07,
             full_graph: bool = True) -> torch.Tensor:
    r"""Contrastive Multiview Coding (Tian et al. 2020, eq. 3-6): a symmetric InfoNCE between
    every pair of views,

    .. math::
        \mathcal{L} = \frac{1}{|P|}\sum_{(i, j) \in P}
        \tfrac12\left(\mathcal{L}_{\mathrm{NCE}}(z^{(i)}, z^{(j)}) +
        \mathcal{L}_{\mathrm{NCE}}(z^{(j)}, z^{(i)})\right)

    where :math:`P` is every pair (``full_graph``) or the pairs (0, j) ("core view": view 0
    against each other view). The negatives are the other samples of the batch (of every rank),
    instead of CMC's memory bank.

    Shape:
        - embeddings: list of V >= 2 tensors (N, D), row n of each is sample n seen through a view.
        - output: scalar.

    Example:
        >>> l_view, ab_view = torch.randn(8, 128), torch.randn(8, 128)
        >>> loss = cmc_loss([l_view, ab_view], temperature=0.07)
    """
    if len(embeddings) < 2:
        raise ValueError(f'cmc_loss: needs at least 2 views, got {len(embeddings)}')
    pairs = list(itertools.combinations(range(len(embeddings)), 2)) if full_graph \
        else [(0, j) for j in range(1, len(embeddings))]
    return sum(info_nce(embeddings[i], embeddings[j], temperature=temperature)
               + info_nce(embeddings[j], embeddings[i], temperature=temperature)
               for i, j in pairs) / (2 * len(pairs))


@MODELS.register_module()
class CMCLoss(nn.Module):
    """Module form of :func:`cmc_loss`: ``dict(type='CMCLoss', temperature=0.07)``."""

    def __init__(self, temperature: float = 0.07, full_graph: bool = True):
        super().__init__()
        self.temperature, self.full_graph = temperature, full_graph

    def forward(self, embeddings):
        return cmc_loss(embeddings, self.temperature, self.full_graph)
