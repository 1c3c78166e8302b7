from . import compat
from .bad_samples import BadSampleCounterHook
from .loops import KNNValLoop
from .optim import ModuleOptimWrapperConstructor
from .runner import SSLRunner

__all__ = ['compat', 'BadSampleCounterHook', 'SSLRunner', 'KNNValLoop', 'ModuleOptimWrapperConstructor']
