from . import compat
from .bad_samples import BadSampleCounterHook
from .checkpoint import AtomicCheckpointHook
from .health import RepresentationHealthHook
from .loops import KNNValLoop, ResumableEpochBasedTrainLoop
from .nonfinite import NonFiniteLossHook
from .optim import ModuleOptimWrapperConstructor
from .random_state import RandomStateHook
from .runner import SSLRunner

__all__ = ['compat', 'AtomicCheckpointHook', 'BadSampleCounterHook', 'NonFiniteLossHook',
           'RepresentationHealthHook', 'SSLRunner', 'KNNValLoop', 'ModuleOptimWrapperConstructor',
           'RandomStateHook', 'ResumableEpochBasedTrainLoop']
