from contextlib import ExitStack

from mmengine.optim import OptimWrapperDict

from mm_ssl.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ModuleOptimWrapperConstructor:
    """One optimizer per group of top-level submodules, e.g. SimIPU's recipe (AdamW for the point
    encoder, SGD for the image encoder and the heads)::

        optim_wrapper = dict(
            constructor='ModuleOptimWrapperConstructor',
            point_encoder=dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3)),
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


def update_all(optim_wrapper, loss) -> None:
    """One backward of ``loss``, then a step of every optimizer of an ``OptimWrapperDict`` (or of
    the single wrapper). The groups hold disjoint parameters, so one backward feeds them all;
    gradient accumulation across iterations is not supported with several optimizers."""
    wrappers = list(optim_wrapper.values()) if isinstance(optim_wrapper, OptimWrapperDict) \
        else [optim_wrapper]
    if len(wrappers) == 1:
        return wrappers[0].update_params(loss)
    wrappers[0].backward(loss)
    for wrapper in wrappers:
        wrapper.step()
        wrapper.zero_grad()


def train_step_all(model, data, optim_wrapper) -> dict:
    """mmengine's train step (preprocess, forward, parse losses, update) for a model or its DDP
    wrapper (``model.module``), with one backward feeding every optimizer of an
    ``OptimWrapperDict`` (:func:`update_all`). The forward goes through ``model`` itself, so a
    DDP wrapper synchronises the gradients."""
    module = getattr(model, 'module', model)
    wrappers = optim_wrapper.values() if isinstance(optim_wrapper, OptimWrapperDict) \
        else [optim_wrapper]
    with ExitStack() as stack:
        for wrapper in wrappers:
            stack.enter_context(wrapper.optim_context(model))
        data = module.data_preprocessor(data, True)
        losses = model._run_forward(data, mode='loss')
    loss, log_vars = module.parse_losses(losses)
    update_all(optim_wrapper, loss)
    return log_vars
