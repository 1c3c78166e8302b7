import torch.nn as nn

from mm_ssl.registry import MODELS


@MODELS.register_module()
class MLP(nn.Sequential):
    """Projection / prediction head: ``num_layers`` linear layers with BN + ReLU between them.

    One class covers SimCLR's 2-layer projector (Chen et al. 2020), SimCLR v2's 3-layer one,
    MoCo v2's and BYOL's projector and predictor (Grill et al. 2020: 4096 hidden, 256 out).
    ``bn_last`` adds an affine-free BN after the last layer (SimCLR v2, MoCo v3).
    ``num_layers=1`` is MoCo v1's linear head. ``hidden_bn=False`` leaves BN out (Linear + ReLU,
    DepthContrast's head): frame-level heads see a few frames per GPU, too few for batch
    statistics.

    Shape:
        - input: (N, in_dim); output: (N, out_dim).

    Example:
        >>> projector = MLP(512, 2048, 128)            # SimCLR
        >>> predictor = MLP(256, 4096, 256)            # BYOL
    """

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, num_layers: int = 2,
                 bn_last: bool = False, hidden_bn: bool = True):
        dims = [in_dim] + [hidden_dim] * (num_layers - 1) + [out_dim]
        layers = []
        for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
            last = i == num_layers - 1
            # a bias before BN is redundant
            layers.append(nn.Linear(d_in, d_out, bias=not bn_last if last else not hidden_bn))
            if not last:
                if hidden_bn:
                    layers.append(nn.BatchNorm1d(d_out))
                layers.append(nn.ReLU(inplace=True))
        if bn_last:
            layers.append(nn.BatchNorm1d(out_dim, affine=False))
        super().__init__(*layers)
        self.out_dim = out_dim
