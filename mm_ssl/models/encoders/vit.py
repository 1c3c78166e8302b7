"""Vision Transformer encoder: torchvision's ViT without its classification head."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models import VisionTransformer

from mm_ssl.registry import MODELS


@MODELS.register_module()
class ViT(nn.Module):
    """Vision Transformer (Dosovitskiy et al. 2021, "An Image is Worth 16x16 Words") as a feature
    encoder, built from ``torchvision.models.VisionTransformer`` with ``heads`` dropped.

    Module names are torchvision's (conv_proj, class_token, encoder), so ``state_dict()`` loads
    into a torchvision ViT of the same size with only ``heads.*`` missing. Inputs of another size
    than ``image_size`` get bicubically interpolated position embeddings, as in DINO's multi-crop
    (Caron et al. 2021), so small crops can share the encoder.

    Args:
        image_size, patch_size: input side and patch side (image_size % patch_size == 0).
        dim, depth, heads, mlp_dim: token width, blocks, attention heads, MLP hidden width.
        in_channels: input channels.
        freeze_patch_embed: keep the random patch projection fixed, which stabilises training
            (MoCo v3, Chen et al. 2021).

    Attributes:
        feat_dim: ``dim``.
        map_strides, map_channels: {'tokens': patch_size} and {'tokens': dim}.

    Shape:
        x: (B, in_channels, H, W), H and W multiples of patch_size.
        forward(x): (B, dim), the CLS token after the final LayerNorm.
        forward(x, return_maps=True): (B, dim) and {'tokens': (B, dim, H/patch_size, W/patch_size)}.
    """

    def __init__(self, image_size=32, patch_size=4, dim=192, depth=6, heads=3, mlp_dim=768,
                 in_channels=3, freeze_patch_embed=False):
        super().__init__()
        net = VisionTransformer(image_size, patch_size, num_layers=depth, num_heads=heads,
                                hidden_dim=dim, mlp_dim=mlp_dim)
        if in_channels != 3:
            net.conv_proj = nn.Conv2d(in_channels, dim, patch_size, patch_size)
            # torchvision's patch-embedding init, applied to the replaced layer
            nn.init.trunc_normal_(net.conv_proj.weight,
                                  std=math.sqrt(1 / (in_channels * patch_size ** 2)))
            nn.init.zeros_(net.conv_proj.bias)
        self.conv_proj, self.class_token, self.encoder = net.conv_proj, net.class_token, net.encoder
        self.conv_proj.requires_grad_(not freeze_patch_embed)
        self.grid = image_size // patch_size
        self.feat_dim = dim
        self.map_strides, self.map_channels = {'tokens': patch_size}, {'tokens': dim}

    def _pos_embedding(self, h, w):
        pos = self.encoder.pos_embedding
        if (h, w) == (self.grid, self.grid):
            return pos
        patch = pos[:, 1:].reshape(1, self.grid, self.grid, -1).permute(0, 3, 1, 2)
        patch = F.interpolate(patch, size=(h, w), mode='bicubic', align_corners=False)
        return torch.cat([pos[:, :1], patch.flatten(2).transpose(1, 2)], 1)

    def forward(self, x, return_maps=False):
        x = self.conv_proj(x)
        b, d, h, w = x.shape
        x = torch.cat([self.class_token.expand(b, -1, -1), x.flatten(2).transpose(1, 2)], 1)
        enc = self.encoder
        x = enc.ln(enc.layers(enc.dropout(x + self._pos_embedding(h, w))))
        if not return_maps:
            return x[:, 0]
        return x[:, 0], {'tokens': x[:, 1:].transpose(1, 2).reshape(b, d, h, w)}
