"""One file per method; each registers its class in MODELS."""
from .base import BaseSSL
from .byol import BYOL
from .cmc import CMC
from .colorization import Colorization
from .cpc import CPC
from .depth_contrast import DepthContrast
from .dino import DINO
from .inpainting import ContextEncoder
from .instdisc import InstDisc
from .invaspread import InvaSpread
from .moco import MoCo
from .mocov3 import MoCoV3
from .occupancy_mae import OccupancyMAE
from .order_verification import OPN, VCOP, ShuffleAndLearn
from .patch_context import Jigsaw, RelativePosition
from .point_contrast import PointContrast
from .rotation import RotationPrediction
from .seed import SEED
from .simclr import SimCLR
from .simclrv2 import SimCLRv2
from .simipu import SimIPU
from .simsiam import SimSiam
from .slidr import SLidR
from .swav import SwAV
from .taco import TaCo
from .time_contrastive import TimeContrastive

__all__ = ['BaseSSL', 'SimCLR', 'SimCLRv2', 'MoCo', 'MoCoV3', 'BYOL', 'SimSiam', 'SwAV', 'DINO',
           'InstDisc', 'InvaSpread', 'CPC', 'CMC', 'SEED', 'RotationPrediction',
           'RelativePosition', 'Jigsaw', 'Colorization', 'ContextEncoder', 'SimIPU',
           'TimeContrastive', 'ShuffleAndLearn', 'OPN', 'VCOP', 'TaCo', 'PointContrast',
           'DepthContrast', 'OccupancyMAE', 'SLidR']
