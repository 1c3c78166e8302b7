import torch.nn as nn

from mm_ssl.registry import MODELS


@MODELS.register_module()
class LinearClsHead(nn.Module):
    """Linear classifier on frozen features (linear probe, online probe).

    The features go through an affine-free BatchNorm first, so the probe's learning rate does not
    depend on the scale of the representation (as in MAE's linear probe, He et al. 2022).

    Shape:
        - input: (N, in_dim); output: (N, num_classes) logits.
    """

    def __init__(self, in_dim: int, num_classes: int):
        super().__init__()
        self.norm = nn.BatchNorm1d(in_dim, affine=False)
        self.fc = nn.Linear(in_dim, num_classes)

    def forward(self, x):
        return self.fc(self.norm(x))
