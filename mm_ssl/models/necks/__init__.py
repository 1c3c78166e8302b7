from .mlp import MLP

__all__ = ['MLP']
# issue 3
from .causal_conv import RowCausalConv  # noqa: E402
__all__ += ['RowCausalConv']
