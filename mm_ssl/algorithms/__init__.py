from .base import BaseSSL
from .byol import BYOL
from .moco import MoCo
from .simclr import SimCLR
from .simipu import SimIPU

__all__ = ['BaseSSL', 'SimCLR', 'MoCo', 'BYOL', 'SimIPU']
