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
from .colorization import Colorization  # noqa: E402
from .inpainting import ContextEncoder  # noqa: E402
from .patch_context import Jigsaw, RelativePosition  # noqa: E402
from .rotation import RotationPrediction  # noqa: E402
from .simsiam import SimSiam  # noqa: E402

__all__ += ['SimSiam', 'RotationPrediction', 'RelativePosition', 'Jigsaw', 'Colorization',
            'ContextEncoder']
