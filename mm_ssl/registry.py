"""Registries of mm_ssl: children of mmengine's roots, so mmengine components (runners, hooks,
optimisers, schedulers) resolve from mm_ssl configs and mm_ssl components resolve by name with the
``mm_ssl`` scope. Every registry lazily imports the mm_ssl sub-package that fills it."""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry

RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, locations=['mm_ssl.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['mm_ssl.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=['mm_ssl.engine'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, locations=['mm_ssl.datasets'])
DATA_SAMPLERS = Registry('data sampler', parent=MMENGINE_DATA_SAMPLERS,
                         locations=['mm_ssl.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, locations=['mm_ssl.transforms'])
MODELS = Registry('model', parent=MMENGINE_MODELS,
                  locations=['mm_ssl.models', 'mm_ssl.algorithms', 'mm_ssl.losses',
                             'mm_ssl.transforms'])
OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS, locations=['mm_ssl.engine'])
OPTIM_WRAPPERS = Registry('optim wrapper', parent=MMENGINE_OPTIM_WRAPPERS,
                          locations=['mm_ssl.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry('optimizer wrapper constructor',
                                      parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
                                      locations=['mm_ssl.engine'])
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS,
                            locations=['mm_ssl.engine'])
# mmengine's visualizer and its backends, found from mm_ssl configs without a scope warning
VISUALIZERS = Registry('visualizer', parent=MMENGINE_VISUALIZERS,
                       locations=['mm_ssl.engine'])
VISBACKENDS = Registry('vis_backend', parent=MMENGINE_VISBACKENDS,
                       locations=['mm_ssl.engine'])
METRICS = Registry('metric', parent=MMENGINE_METRICS, locations=['mm_ssl.evaluation'])
