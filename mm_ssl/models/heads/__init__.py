from .linear import LinearClsHead

__all__ = ['LinearClsHead']
# issue 3
from .prototypes import DINOHead, NormalizedLinear  # noqa: E402
__all__ += ['DINOHead', 'NormalizedLinear']
