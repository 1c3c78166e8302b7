"""The optimiser-wrapper constructor of methods with one optimiser per submodule (SimIPU)."""
from mmengine.optim import OptimWrapperDict

from mm_ssl.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ModuleOptimWrapperConstructor:
    """One optimizer per group of top-level submodules, e.g. SimIPU's recipe (AdamW for the point
    encoder, SGD for the image encoder and the heads)::

        optim_wrapper = dict(
            constructor='ModuleOptimWrapperConstructor',
            encoder=dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3)),
            others=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.03)))

    Each key names a submodule of the model; ``others`` takes every parameter not named. The
    result is an ``OptimWrapperDict``; a list of ``param_scheduler`` applies to each optimizer.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg=None):
        if paramwise_cfg:
            raise ValueError('ModuleOptimWrapperConstructor: paramwise_cfg is not supported')
        self.cfg = optim_wrapper_cfg

    def __call__(self, model):
        model = getattr(model, 'module', model)
        named = {k for k in self.cfg if k != 'others'}
        missing = [k for k in named if not hasattr(model, k)]
        if missing:
            raise ValueError(f'ModuleOptimWrapperConstructor: the model has no submodule '
                             f'{", ".join(missing)}')
        groups = {k: list(getattr(model, k).parameters()) for k in named}
        taken = {id(p) for params in groups.values() for p in params}
        if 'others' in self.cfg:
            groups['others'] = [p for p in model.parameters() if id(p) not in taken]
        wrappers = {}
        for name, params in groups.items():
            cfg = dict(self.cfg[name])
            optimizer = OPTIMIZERS.build(dict(cfg.pop('optimizer'),
                                              params=[p for p in params if p.requires_grad]))
            wrappers[name] = OPTIM_WRAPPERS.build(dict(cfg, optimizer=optimizer))
        return OptimWrapperDict(**wrappers)
