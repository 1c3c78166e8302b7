from .dense import ConvDecoder, DenseClsHead
from .linear import LinearClsHead
from .occupancy import OccupancyDecoder
from .order import PairwiseOrderHead
from .prototypes import DINOHead, NormalizedLinear

__all__ = ['LinearClsHead', 'DenseClsHead', 'ConvDecoder', 'DINOHead', 'NormalizedLinear',
           'PairwiseOrderHead', 'OccupancyDecoder']
