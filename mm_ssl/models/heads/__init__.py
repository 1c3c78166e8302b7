from .linear import LinearClsHead
from .order import PairwiseOrderHead

__all__ = ['LinearClsHead', 'PairwiseOrderHead']
