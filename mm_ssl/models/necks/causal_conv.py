import torch.nn as nn
import torch.nn.functional as F

from mm_ssl.registry import MODELS


@MODELS.register_module()
class RowCausalConv(nn.Module):
    """Autoregressive context network over the rows of a feature grid (CPC v2's masked
    convolution, Hénaff et al. 2020 §3): output row i sees input rows <= i only, every column.

    Each layer is a residual ``kernel_rows x 3`` convolution padded above only (causal in rows,
    centred in columns); ``num_layers`` of them see ``num_layers * (kernel_rows - 1)`` rows up.

    Shape:
        - input: (B, in_dim, H, W); output: (B, out_dim, H, W).

    Example:
        >>> context = RowCausalConv(in_dim=512, hidden_dim=512, out_dim=512)
    """

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, num_layers: int = 3,
                 kernel_rows: int = 3):
        super().__init__()
        self.inp = nn.Conv2d(in_dim, hidden_dim, 1)
        self.layers = nn.ModuleList(nn.Conv2d(hidden_dim, hidden_dim, (kernel_rows, 3))
                                    for _ in range(num_layers))
        self.out = nn.Conv2d(hidden_dim, out_dim, 1)
        self.kernel_rows, self.out_dim = kernel_rows, out_dim

    def forward(self, x):
        x = self.inp(x)
        for conv in self.layers:
            # pad (left, right, top, bottom): rows only from above
            x = x + conv(F.relu(F.pad(x, (1, 1, self.kernel_rows - 1, 0))))
        return self.out(F.relu(x))
