"""Stopping (or skipping) a step whose loss is NaN or inf, before it touches the weights."""
from itertools import chain

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mm_ssl.errors import NonFiniteLossError
from mm_ssl.registry import HOOKS


class _NonFiniteLoss(Exception):
    """Raised between the loss and the backward pass; carries the description of the terms."""


def _describe_nonfinite(losses: dict) -> str:
    """``'loss_a=nan, loss_b=inf'`` for the loss terms (keys with 'loss', the ones mmengine sums)
    that hold a NaN or inf; empty when all are finite."""
    bad = []
    for name, value in losses.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        if 'loss' in name and not all(torch.isfinite(v).all() for v in values):
            scalar = len(values) == 1 and values[0].numel() == 1
            bad.append(f'{name}={values[0].item()}' if scalar else f'{name}=non-finite')
    return ', '.join(bad)


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stops the run with :class:`NonFiniteLossError`, naming the iteration and the loss terms,
    when a loss is NaN or inf; the check sits between the loss and the backward pass, so no
    optimiser step sees the bad loss and the last checkpoint stays the last good state.
    :class:`SSLRunner` installs it in every run, with the config's ``skip_nonfinite``.

    With ``skip_nonfinite=K`` the first K such steps (in the whole run) are skipped instead and
    logged: no optimiser update, and the state a forward pass changes outside the optimiser
    (buffers such as queues and BN statistics, frozen parameters such as momentum encoders) is
    restored. The batch is consumed and the lr schedule moves on. Under DDP all ranks skip or
    stop together (one scalar all-reduce per step).

    It wraps the model's ``parse_losses``, which every ``train_step`` (mmengine's, DDP's and
    SimIPU's) calls between the forward and the backward pass.
    """

    priority = 'VERY_HIGH'

    def __init__(self, skip_nonfinite: int = 0):
        self.skip_nonfinite = skip_nonfinite
        self.skipped = 0

    def before_train(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        parse_losses, train_step = model.parse_losses, runner.model.train_step

        def checked_parse_losses(losses):
            bad = _describe_nonfinite(losses)
            # every rank must take the same branch, or DDP's gradient all-reduce hangs
            bad_ranks = torch.tensor(float(bool(bad)))
            all_reduce(bad_ranks)
            if bad_ranks.item():
                raise _NonFiniteLoss(bad or 'on another rank')
            return parse_losses(losses)

        def guarded_train_step(data, optim_wrapper):
            restorable = [t for t in chain(model.buffers(), model.parameters())
                          if not t.requires_grad] if self.skipped < self.skip_nonfinite else []
            saved = [t.detach().clone() for t in restorable]
            try:
                return train_step(data, optim_wrapper)
            except _NonFiniteLoss as exc:
                iteration = runner.iter + 1
                if self.skipped >= self.skip_nonfinite:
                    last = runner.message_hub.get_info('last_ckpt') or 'none saved yet'
                    raise NonFiniteLossError(
                        f'iteration {iteration}: non-finite loss ({exc}); stopped before the '
                        f'optimizer step, last checkpoint: {last} (lower the lr, set '
                        'optim_wrapper.clip_grad, or skip_nonfinite=K to skip K such steps)'
                    ) from None
                self.skipped += 1
                with torch.no_grad():
                    for tensor, value in zip(restorable, saved):
                        tensor.copy_(value)
                runner.logger.warning(
                    f'iteration {iteration}: non-finite loss ({exc}); step skipped, no optimizer '
                    f'update ({self.skipped} of skip_nonfinite={self.skip_nonfinite} used)')
                return {}

        model.parse_losses = checked_parse_losses
        runner.model.train_step = guarded_train_step
