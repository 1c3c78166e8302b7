from .base import BaseSSL
from .byol import BYOL
from .moco import MoCo
from .simclr import SimCLR

__all__ = ['BaseSSL', 'SimCLR', 'MoCo', 'BYOL']
