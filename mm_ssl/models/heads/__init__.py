from .linear import LinearClsHead

__all__ = ['LinearClsHead']
