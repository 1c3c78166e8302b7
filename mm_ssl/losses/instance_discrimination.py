"""Instance discrimination against a memory bank of per-sample embeddings (InstDisc / NPID)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from mm_ssl.errors import ConfigError
from mm_ssl.registry import MODELS

from .contrastive import info_nce


def npid_nce(query: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor,
             num_data: int, temperature: float = 0.07) -> torch.Tensor:
    r"""Noise-contrastive estimation of the non-parametric softmax (Wu et al. 2018, "Unsupervised
    Feature Learning via Non-Parametric Instance Discrimination", eqs. 2-7).

    With :math:`P(i \mid v) = \exp(v_i^\top v/\tau) / Z`, noise :math:`P_n = 1/n` over the n
    samples of the data set and m noise samples, the probability that v comes from the data is
    :math:`h(i, v) = P(i \mid v) / (P(i \mid v) + m P_n(i))` and

    .. math::
        \mathcal{L} = -\frac{1}{N}\sum_{\text{batch}} \Big[\log h(i, v)
        + \sum_{k=1}^{m} \log\big(1 - h(i_k, v)\big)\Big]

    The partition function is the paper's Monte-Carlo estimate
    :math:`Z \approx \frac{n}{Nm}\sum_{\text{batch}}\sum_k \exp(v_{i_k}^\top v/\tau)` from this
    batch's noise samples, treated as a constant (no gradient). The softmax form (eq. 2 over the
    sampled negatives) is :func:`info_nce` with the bank entries as key and negatives.

    Shape:
        - query: (N, D) features v of the batch; positive: (N, D) their bank entries v_i.
        - negatives: (m, D) bank entries drawn uniformly (the noise samples).
        - output: scalar.

    Example:
        >>> bank = F.normalize(torch.randn(1000, 128), dim=1)
        >>> loss = npid_nce(torch.randn(8, 128), bank[:8], bank[torch.randint(1000, (256,))], 1000)
    """
    query = F.normalize(query, dim=1)
    pos = torch.einsum('nd,nd->n', query, F.normalize(positive, dim=1)) / temperature  # (N,)
    neg = torch.einsum('nd,md->nm', query, F.normalize(negatives, dim=1)) / temperature  # (N, m)
    m = neg.shape[1]
    log_z = torch.logsumexp(neg.detach().flatten(), 0) - math.log(neg.numel()) + math.log(num_data)
    log_noise = math.log(m / num_data)                                  # log(m P_n)
    # log h = -softplus(log m P_n - log P), log(1 - h) = -softplus(log P - log m P_n)
    loss_pos = F.softplus(log_noise - (pos - log_z))                    # (N,)
    loss_neg = F.softplus((neg - log_z) - log_noise).sum(1)             # (N,)
    return (loss_pos + loss_neg).mean()


@MODELS.register_module()
class NPIDLoss(nn.Module):
    """Module form of the memory-bank objectives: ``dict(type='NPIDLoss', mode='nce')`` is
    :func:`npid_nce`, ``mode='softmax'`` the non-parametric softmax over the sampled negatives
    (:func:`info_nce` with the bank entries as keys)."""

    def __init__(self, temperature: float = 0.07, mode: str = 'nce'):
        super().__init__()
        if mode not in ('nce', 'softmax'):
            raise ConfigError(f"NPIDLoss: mode must be 'nce' or 'softmax', got {mode!r}")
        self.temperature, self.mode = temperature, mode

    def forward(self, query, positive, negatives, num_data: int):
        if self.mode == 'nce':
            return npid_nce(query, positive, negatives, num_data, self.temperature)
        return info_nce(query, positive, negatives, self.temperature)
