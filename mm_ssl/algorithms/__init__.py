from .base import BaseSSL
from .byol import BYOL
from .moco import MoCo
from .order_verification import OPN, VCOP, ShuffleAndLearn
from .simclr import SimCLR
from .simipu import SimIPU
from .taco import TaCo
from .time_contrastive import TimeContrastive

__all__ = ['BaseSSL', 'SimCLR', 'MoCo', 'BYOL', 'SimIPU', 'TimeContrastive', 'ShuffleAndLearn',
           'OPN', 'VCOP', 'TaCo']
