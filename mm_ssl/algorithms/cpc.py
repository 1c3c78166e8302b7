import torch
import torch.nn as nn

from mm_ssl.registry import MODELS

from .base import BaseSSL


@MODELS.register_module()
class CPC(BaseSSL):
    """CPC v2 on images (Hénaff et al. 2020; van den Oord et al. 2018 §3.2): the image is cut
    into a grid of overlapping ``patch_size`` patches (stride ``patch_stride``), each encoded to
    a code :math:`z_{i,j}`; an autoregressive context network over the rows gives
    :math:`c_{i,j}` (sees rows <= i), and a linear map per step k predicts :math:`z_{i+k,j}`;
    :class:`CPCLoss` (InfoNCE, every patch of the batch a candidate) scores the predictions.

    The default steps start at 2: with 50% overlap, row i+1 shares half its pixels with row i,
    which the context has seen.

    The image representation (``forward(mode='tensor')``, evaluation, the online probe) is the
    mean code over the grid, as CPC v2's linear evaluation pools the patch encoder's grid.

    Not done: CPC v2's per-patch augmentation and layer norm in place of batch norm in the patch
    encoder (batch statistics over the patches of one image are a small leak).

    Args:
        encoder: the patch encoder (e.g. ResNet with ``cifar_stem`` for 8 px patches).
        context: config of the context network (``in_dim`` / ``out_dim`` filled with the
            encoder's width), e.g. :class:`RowCausalConv`.
        steps: row offsets k to predict.
    """

    def __init__(self, encoder: dict, context: dict, patch_size: int = 8, patch_stride: int = 4,
                 steps=(2, 3, 4), loss: dict = dict(type='CPCLoss'), **kwargs):
        super().__init__(encoder, **kwargs)
        dim = self.encoder.feat_dim
        self.context = MODELS.build(dict(context, in_dim=dim, out_dim=context.get('out_dim', dim)))
        self.predictors = nn.Conv2d(self.context.out_dim, dim * len(steps), 1)  # W_k, all k
        self.criterion = MODELS.build(loss)
        self.patch_size, self.patch_stride, self.steps = patch_size, patch_stride, list(steps)

    def patch_codes(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) images -> (B, D, rows, cols) grid of patch codes."""
        p, s = self.patch_size, self.patch_stride
        patches = images.unfold(2, p, s).unfold(3, p, s)                # (B, C, gh, gw, p, p)
        b, c, gh, gw = patches.shape[:4]
        codes = self.encoder(patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, c, p, p))
        return codes.view(b, gh, gw, -1).permute(0, 3, 1, 2)            # (B, D, gh, gw)

    def compute_loss(self, views):
        codes = self.patch_codes(views[0])                              # (B, D, gh, gw)
        predictions = self.predictors(self.context(codes)).chunk(len(self.steps), dim=1)
        return dict(loss=self.criterion(predictions, codes, self.steps)), codes.mean((2, 3))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'tensor':
            return self.patch_codes(inputs).mean((2, 3))
        return super().forward(inputs, data_samples, mode)
