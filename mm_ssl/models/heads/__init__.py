from .linear import LinearClsHead

__all__ = ['LinearClsHead']
from .dense import ConvDecoder, DenseClsHead  # noqa: E402

__all__ += ['DenseClsHead', 'ConvDecoder']
