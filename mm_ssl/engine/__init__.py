from . import compat
from .loops import KNNValLoop
from .optim import ModuleOptimWrapperConstructor
from .runner import SSLRunner

__all__ = ['compat', 'SSLRunner', 'KNNValLoop', 'ModuleOptimWrapperConstructor']
from .health import RepresentationHealthHook  # noqa: E402

__all__ += ['RepresentationHealthHook']
