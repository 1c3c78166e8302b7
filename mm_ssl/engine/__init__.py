from . import compat
from .bad_samples import BadSampleCounterHook
from .health import RepresentationHealthHook
from .loops import KNNValLoop
from .optim import ModuleOptimWrapperConstructor
from .runner import SSLRunner

__all__ = ['compat', 'BadSampleCounterHook', 'RepresentationHealthHook', 'SSLRunner', 'KNNValLoop',
           'ModuleOptimWrapperConstructor']
