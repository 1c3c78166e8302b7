from . import compat
from .loops import KNNValLoop
from .runner import SSLRunner

__all__ = ['compat', 'SSLRunner', 'KNNValLoop']
