from .base import BaseSSL
from .byol import BYOL
from .moco import MoCo
from .simclr import SimCLR
from .simipu import SimIPU

__all__ = ['BaseSSL', 'SimCLR', 'MoCo', 'BYOL', 'SimIPU']
from .instdisc import InstDisc  # noqa: E402  zoo-a
from .invaspread import InvaSpread  # noqa: E402  zoo-a
from .mocov3 import MoCoV3  # noqa: E402  zoo-a
from .seed import SEED  # noqa: E402  zoo-a
from .simclrv2 import SimCLRv2  # noqa: E402  zoo-a

__all__ += ['InstDisc', 'InvaSpread', 'MoCoV3', 'SEED', 'SimCLRv2']  # zoo-a
