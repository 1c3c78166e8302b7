from .base import BaseSSL
from .byol import BYOL
from .moco import MoCo
from .simclr import SimCLR
from .simipu import SimIPU

__all__ = ['BaseSSL', 'SimCLR', 'MoCo', 'BYOL', 'SimIPU']
# SwAV, DINO, CPC, CMC (issue 3)
from .cmc import CMC  # noqa: E402
from .cpc import CPC  # noqa: E402
from .dino import DINO  # noqa: E402
from .swav import SwAV  # noqa: E402
__all__ += ['SwAV', 'DINO', 'CPC', 'CMC']
