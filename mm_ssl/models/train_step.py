"""The train step of a model with several optimisers (one backward, every optimiser steps):
used by the algorithms that build an ``OptimWrapperDict`` and by the DDP wrapper around them."""
from contextlib import ExitStack

from mmengine.optim import OptimWrapperDict

__all__ = ['update_all', 'train_step_all']


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
