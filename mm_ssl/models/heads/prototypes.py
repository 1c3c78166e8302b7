"""Heads that score features against learned unit-norm prototypes: SwAV's and DINO's."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mm_ssl.registry import MODELS


class NormalizedLinear(nn.Module):
    r"""Bias-free linear layer with unit-norm weight rows, :math:`y = x W^\top`,
    :math:`W_k = g_k v_k / \|v_k\|`: SwAV's prototypes (``learn_norm=False``: cosine scores for
    unit inputs) and DINO's weight-normalised last layer (``learn_norm=True`` frees :math:`g`).

    ``forward(x, frozen=True)`` uses a detached weight: SwAV freezes the prototypes and DINO the
    last layer for the first iterations.

    Shape:
        - input: (N, in_dim); output: (N, out_dim).
    """

    def __init__(self, in_dim: int, out_dim: int, learn_norm: bool = False):
        super().__init__()
        self.weight = nn.Parameter(nn.init.trunc_normal_(torch.empty(out_dim, in_dim), std=0.02))
        self.norm = nn.Parameter(torch.ones(out_dim, 1)) if learn_norm else None

    def forward(self, x, frozen: bool = False):
        weight = F.normalize(self.weight, dim=1)
        if self.norm is not None:
            weight = self.norm * weight
        return x @ (weight.detach() if frozen else weight).t()


@MODELS.register_module()
class DINOHead(nn.Module):
    """DINO's projection head (Caron et al. 2021, §3.1 and appendix): a ``num_layers`` MLP with
    GELU to a ``bottleneck_dim`` code, L2 normalisation, then a weight-normalised linear layer
    to ``out_dim`` (with its norm fixed to 1 when ``norm_last_layer``, which stabilises training).

    Shape:
        - input: (N, in_dim); output: (N, out_dim) logits.

    Example:
        >>> head = DINOHead(in_dim=512, out_dim=4096)
    """

    def __init__(self, in_dim: int, out_dim: int, hidden_dim: int = 2048,
                 bottleneck_dim: int = 256, num_layers: int = 3, norm_last_layer: bool = True):
        super().__init__()
        dims = [in_dim] + [hidden_dim] * (num_layers - 1) + [bottleneck_dim]
        layers = []
        for d_in, d_out in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(d_in, d_out), nn.GELU()]
        self.mlp = nn.Sequential(*layers[:-1])
        self.last_layer = NormalizedLinear(bottleneck_dim, out_dim, learn_norm=not norm_last_layer)
        self.out_dim = out_dim

    def forward(self, x, freeze_last_layer: bool = False):
        return self.last_layer(F.normalize(self.mlp(x), dim=1), frozen=freeze_last_layer)
