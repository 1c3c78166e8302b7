from .causal_conv import RowCausalConv
from .mlp import MLP

__all__ = ['MLP', 'RowCausalConv']
