from . import compat
from .bad_samples import BadSampleCounterHook
from .checkpoint import AtomicCheckpointHook
from .health import RepresentationHealthHook
from .loops import KNNValLoop
from .nonfinite import NonFiniteLossHook
from .optim import ModuleOptimWrapperConstructor
from .runner import SSLRunner

__all__ = ['compat', 'AtomicCheckpointHook', 'BadSampleCounterHook', 'NonFiniteLossHook',
           'RepresentationHealthHook', 'SSLRunner', 'KNNValLoop', 'ModuleOptimWrapperConstructor']
