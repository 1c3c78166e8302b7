import torch
import torch.nn as nn

from mm_ssl.errors import ConfigError
from mm_ssl.models.heads import LinearClsHead
from mm_ssl.transforms.color import rgb_to_lab
from mm_ssl.registry import MODELS

from .base import BaseSSL

# L in [0, 100] and a, b in about [-110, 110] to roughly unit range
LAB_SHIFT, LAB_SCALE = (50.0, 0.0, 0.0), (50.0, 110.0, 110.0)


@MODELS.register_module()
class CMC(BaseSSL):
    """Contrastive Multiview Coding (Tian et al. 2020): the image is split into views made of
    different channels (the paper's L and ab of Lab), each view has its own encoder and
    projector, and :class:`CMCLoss` contrasts every pair of views.

    Channel group g is cut from augmented view ``g % len(views)``: with one augmented view all
    groups share one crop (the paper); with several, each group gets its own crop.

    The image representation (``forward(mode='tensor')``, the online probe) is the concatenation
    of every view's encoder feature, as the paper evaluates it.

    Args:
        encoder: config of every view's encoder; ``in_channels`` is set per group.
        neck: config of every view's projector.
        channel_groups: channel indices of each view, in ``color_space``.
        color_space: ``'lab'`` (channels L, a, b) or ``'rgb'`` (the input as is).
    """

    def __init__(self, encoder: dict, neck: dict, channel_groups=((0,), (1, 2)),
                 color_space: str = 'lab', loss: dict = dict(type='CMCLoss'), **kwargs):
        if color_space not in ('lab', 'rgb'):
            raise ConfigError(f"CMC: color_space must be 'lab' or 'rgb', got {color_space!r}")
        if len(channel_groups) < 2:
            raise ConfigError(f'CMC: needs at least 2 channel_groups, got {channel_groups!r}')
        groups = [list(g) for g in channel_groups]
        super().__init__(dict(encoder, in_channels=len(groups[0])), **kwargs)
        self.encoders = nn.ModuleList([self.encoder] + [
            MODELS.build(dict(encoder, in_channels=len(g))) for g in groups[1:]])
        self.projectors = nn.ModuleList(self.build_mlp(neck, e.feat_dim) for e in self.encoders)
        feat_dim = sum(e.feat_dim for e in self.encoders)
        if kwargs.get('online_probe'):
            self.probe = LinearClsHead(feat_dim, **kwargs['online_probe'])
        self.criterion = MODELS.build(loss)
        self.groups, self.color_space = groups, color_space

    def _channels(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised network input -> the channels of ``color_space``, about unit scale."""
        if self.color_space == 'rgb':
            return x
        pre = self.data_preprocessor
        lab = rgb_to_lab(((x * pre.std + pre.mean) / 255).clamp(0, 1))
        return (lab - lab.new_tensor(LAB_SHIFT).view(1, 3, 1, 1)) / \
            lab.new_tensor(LAB_SCALE).view(1, 3, 1, 1)

    def _features(self, views: list[torch.Tensor]) -> list[torch.Tensor]:
        channels = [self._channels(v) for v in views]
        return [enc(channels[g % len(views)][:, group])
                for g, (enc, group) in enumerate(zip(self.encoders, self.groups))]

    def compute_loss(self, views):
        feats = self._features(views)                                   # V x (B, D_v)
        z = [proj(f) for proj, f in zip(self.projectors, feats)]        # V x (B, d)
        return dict(loss=self.criterion(z)), torch.cat(feats, dim=1)

    def extract_feat(self, inputs):
        return torch.cat(self._features([inputs]), dim=1)
