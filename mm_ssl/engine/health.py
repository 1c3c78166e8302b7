"""Training hooks that watch the representation, and a task head, for collapse."""
import os.path as osp
from contextlib import contextmanager

import torch
from torch.nn.modules.batchnorm import _BatchNorm
from mmengine.dist import broadcast, is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mm_ssl.errors import ConfigError, RepresentationCollapseError
from mm_ssl.evaluation.health import (alignment, effective_rank, normalized_std, singular_values,
                                      uniformity)
from mm_ssl.registry import HOOKS


@contextmanager
def unchanged_norm_statistics(model: torch.nn.Module):
    """Forward passes inside leave the running statistics of every BatchNorm as they were."""
    buffers = [b for m in model.modules() if isinstance(m, _BatchNorm) for b in m.buffers()]
    saved = [b.clone() for b in buffers]
    try:
        yield
    finally:
        for b, value in zip(buffers, saved):
            b.copy_(value)


@HOOKS.register_module()
class RepresentationHealthHook(Hook):
    """Every ``interval`` iterations and at the end of every ``epoch_interval``-th epoch (and of
    the last), measures on a fixed probe batch (the first ``probe_size`` images of the first train
    batch, taken once, so at most the batch size):

    - ``erank_embedding`` / ``erank_feature``: effective rank (RankMe) of the embeddings the loss
      acts on and of the backbone features (see :meth:`BaseSSL.embed`);
    - ``std_embedding``: mean per-dimension std of the L2-normalised embeddings;
    - ``uniformity`` of the embeddings and, when the model's augmentation makes two or more views,
      ``alignment`` of the embeddings of two views drawn once with a fixed seed (Wang & Isola).

    The model runs as in training (BatchNorm normalises with the probe batch's statistics, which
    are not stored): running statistics lag the weights early in training; measured with them
    (eval mode), a healthy SimSiam's embedding rank fell from 20 to 5 in 16 iterations on digits
    (a collapsing one's to 1.5), with batch statistics it stayed near 48 (collapsing: 18).

    The values go to mmengine's message hub as ``train/health/<name>`` (so the logger prints them
    and writes them to the scalars file). At each epoch-end check, and when the alarm fires, the
    singular-value spectra of the last ``plot_last`` checks are plotted to
    ``<work_dir>/health_spectrum.png``: dimensional collapse shows as a cliff.

    With ``min_rank`` set, training stops with :class:`RepresentationCollapseError` once the
    effective rank of ``monitor`` ('embedding' or 'feature') has been below ``min_rank`` at
    ``patience`` consecutive checks.

    Config: ``custom_hooks = [dict(type='RepresentationHealthHook', interval=50, min_rank=2.0)]``
    """

    def __init__(self, interval: int = 50, epoch_interval: int = 1, probe_size: int = 256,
                 min_rank: float | None = None, patience: int = 3, monitor: str = 'embedding',
                 plot: bool = True, plot_last: int = 8, seed: int = 0):
        if monitor not in ('embedding', 'feature'):
            raise ConfigError(f"RepresentationHealthHook: monitor must be 'embedding' or "
                              f"'feature', got {monitor!r}")
        if min(interval, epoch_interval, patience) < 1:
            raise ConfigError('RepresentationHealthHook: interval, epoch_interval and patience '
                              f'must be >= 1, got {interval}, {epoch_interval} and {patience}')
        self.interval, self.epoch_interval = interval, epoch_interval
        self.probe_size, self.min_rank = probe_size, min_rank
        self.patience, self.monitor, self.plot, self.plot_last = patience, monitor, plot, plot_last
        self.seed = seed
        self.spectra = []          # (iteration, embedding spectrum, feature spectrum)
        self.low_checks = 0
        self.last_checked = None

    def before_train(self, runner) -> None:
        # the dataloader's iterator draws its base seed from the global RNG: leave that untouched
        with torch.random.fork_rng(devices=[]):
            batch = next(iter(runner.train_dataloader))
        img = batch.get('img') if isinstance(batch, dict) else None
        if not isinstance(img, torch.Tensor) or img.dim() != 4:
            raise ConfigError('RepresentationHealthHook: the train dataloader must yield '
                              "dict(img=(B, C, H, W) tensor), as the image datasets do")
        self.probe = img[:self.probe_size]

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.every_n_train_iters(runner, self.interval):
            self.check(runner, runner.iter + 1)

    def after_train_epoch(self, runner) -> None:
        if not (self.every_n_epochs(runner, self.epoch_interval)
                or self.is_last_train_epoch(runner)):
            return
        if runner.iter != self.last_checked:   # an interval check can fall on an epoch's end
            self.check(runner, runner.iter)
        self.plot_spectra(runner)

    @torch.no_grad()
    def measure(self, model) -> tuple[dict, torch.Tensor, torch.Tensor]:
        """The metrics and the (embedding, feature) singular values of the probe batch."""
        preprocessor = model.data_preprocessor
        plain = preprocessor(dict(img=self.probe), training=False)['inputs']
        feats, emb = model.embed(plain)
        metrics = dict(erank_embedding=effective_rank(emb), erank_feature=effective_rank(feats),
                       std_embedding=normalized_std(emb), uniformity=uniformity(emb))
        if preprocessor.augment is not None:
            views = preprocessor.augment(self.probe,
                                         generator=torch.Generator().manual_seed(self.seed))
            if isinstance(views, (list, tuple)) and len(views) >= 2:
                views = preprocessor(dict(img=list(views[:2])), training=False)['inputs']
                metrics['alignment'] = alignment(model.embed(views[0])[1],
                                                 model.embed(views[1])[1])
        return metrics, singular_values(emb), singular_values(feats)

    def check(self, runner, iteration: int) -> None:
        self.last_checked = iteration
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        with unchanged_norm_statistics(model):
            metrics, s_emb, s_feat = self.measure(model)
        # every rank decides on rank 0's numbers, so all stop together
        values = torch.tensor(list(metrics.values()), dtype=torch.float64)
        broadcast(values, src=0)
        metrics = dict(zip(metrics, values.tolist()))
        for name, value in metrics.items():
            runner.message_hub.update_scalar(f'train/health/{name}', value)
        runner.logger.info(f'representation health at iteration {iteration}: ' +
                           ', '.join(f'{k}={v:.4g}' for k, v in metrics.items()))
        self.spectra = (self.spectra + [(iteration, s_emb.cpu(), s_feat.cpu())])[-self.plot_last:]
        if self.min_rank is None:
            return
        rank = metrics[f'erank_{self.monitor}']
        self.low_checks = self.low_checks + 1 if rank < self.min_rank else 0
        if self.low_checks >= self.patience:
            self.plot_spectra(runner)
            raise RepresentationCollapseError(
                f'the representation collapsed: effective rank of the {self.monitor}s was below '
                f'min_rank={self.min_rank} at {self.low_checks} consecutive checks of '
                f'RepresentationHealthHook (now {rank:.3f} at iteration {iteration})')

    def plot_spectra(self, runner) -> None:
        """Singular values, normalised by the largest, of the last checks (log scale)."""
        if not (self.plot and is_main_process()):
            return
        from matplotlib import colormaps
        from matplotlib.figure import Figure   # no pyplot: leaves the user's backend alone
        fig = Figure(figsize=(10, 4), layout='tight')
        axes = fig.subplots(1, 2)
        colors = colormaps['viridis'](torch.linspace(0, 1, len(self.spectra)).numpy())
        for (iteration, *spectra), color in zip(self.spectra, colors):
            for ax, s in zip(axes, spectra):
                ax.semilogy((s / s[0].clamp_min(1e-30)).clamp_min(1e-12).numpy(), color=color,
                            label=f'iter {iteration}')
        for ax, name in zip(axes, ('embeddings', 'backbone features')):
            ax.set(title=f'singular values of the {name}', xlabel='index',
                   ylabel='sigma / sigma_max')
        axes[0].legend(fontsize='small')
        fig.savefig(osp.join(runner.work_dir, 'health_spectrum.png'), dpi=80)


@HOOKS.register_module()
class TaskHeadHealthHook(Hook):
    """Watches the classification head of a pretext task (order verification / prediction:
    Shuffle and Learn, OPN, VCOP) for the failure that the representation's rank does not show: a
    head whose ReLU units have all died. Its logits then equal the last layer's bias whatever the
    input, the loss sits at its chance value and the encoder gets no gradient, so the run
    continues for its whole budget and learns nothing.

    Measured on each training batch during the training step itself (forward hooks on the head
    and its ReLUs, a gradient hook on the head's input; no extra forward pass), and checked every
    ``interval`` iterations:

    - ``active_units``: the share of the head's hidden units (outputs of its ReLUs) that are
      positive for at least one sample of the batch;
    - ``logit_std``: the standard deviation of the logits over the batch, mean over the classes
      (0 when the logits no longer depend on the input);
    - ``grad_into_encoder``: the L2 norm of the loss' gradient with respect to the head's input,
      the encoder features: what the task sends back into the encoder.

    They go to the message hub as ``train/head_health/<name>``. Training stops with
    :class:`RepresentationCollapseError`, naming what died, when at ``patience`` consecutive checks
    ``active_units < min_active_share``, ``logit_std <= min_logit_std`` or ``grad_into_encoder
    <= min_grad_norm``.

    Config: ``custom_hooks = [dict(type='TaskHeadHealthHook', interval=10)]``
    """

    def __init__(self, interval: int = 10, head: str = 'head', min_active_share: float = 0.05,
                 min_logit_std: float = 1e-6, min_grad_norm: float = 1e-12, patience: int = 3):
        if min(interval, patience) < 1:
            raise ConfigError('TaskHeadHealthHook: interval and patience must be >= 1, got '
                              f'{interval} and {patience}')
        self.interval, self.head_name, self.patience = interval, head, patience
        self.min_active_share, self.min_logit_std = min_active_share, min_logit_std
        self.min_grad_norm = min_grad_norm
        self.bad_checks = 0
        self.batch = {}     # the last training step's measurements
        self.handles = []

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        head = getattr(model, self.head_name, None)
        if not isinstance(head, torch.nn.Module):
            raise ConfigError(f'TaskHeadHealthHook: {type(model).__name__} has no head module '
                              f'{self.head_name!r} to watch')
        self.relus = [m for m in head.modules() if isinstance(m, torch.nn.ReLU)]
        self.handles = [head.register_forward_hook(self._watch_head)]
        self.handles += [m.register_forward_hook(self._watch_units) for m in self.relus]

    def after_train(self, runner) -> None:
        for handle in self.handles:
            handle.remove()

    def _watch_units(self, module, inputs, output):
        if torch.is_grad_enabled():          # training steps only
            fired = (output.detach() > 0).flatten(0, -2).any(0)   # (hidden,) over the batch
            self.batch.setdefault('fired', []).append(fired)

    def _watch_head(self, module, inputs, logits):
        if not torch.is_grad_enabled():
            return
        self.batch['logit_std'] = logits.detach().float().std(0).mean().item()
        feats = inputs[0]
        if feats.requires_grad:
            def record(grad):
                self.batch['grad_into_encoder'] = grad.float().norm().item()
            feats.register_hook(record)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        batch, self.batch = self.batch, {}
        if not self.every_n_train_iters(runner, self.interval):
            return
        metrics = dict(logit_std=batch.get('logit_std', float('nan')),
                       grad_into_encoder=batch.get('grad_into_encoder', float('nan')))
        fired = torch.cat(batch['fired']) if batch.get('fired') else None
        if fired is not None:
            metrics['active_units'] = fired.float().mean().item()
        # every rank decides on rank 0's numbers, so all stop together
        values = torch.tensor(list(metrics.values()), dtype=torch.float64)
        broadcast(values, src=0)
        metrics = dict(zip(metrics, values.tolist()))
        for name, value in metrics.items():
            runner.message_hub.update_scalar(f'train/head_health/{name}', value)
        dead = self.diagnose(metrics, 0 if fired is None else len(fired))
        self.bad_checks = self.bad_checks + 1 if dead else 0
        if self.bad_checks >= self.patience:
            raise RepresentationCollapseError(
                f'the task head died at iteration {runner.iter + 1} ({self.bad_checks} '
                f'consecutive checks of TaskHeadHealthHook): ' + '; '.join(dead) + '. Lower the '
                'learning rate or normalise the head (PairwiseOrderHead(norm=True))')

    def diagnose(self, metrics: dict, num_units: int) -> list[str]:
        """What is dead, one phrase each; empty when the head is healthy."""
        dead = []
        active = metrics.get('active_units')
        if active is not None and active < self.min_active_share:
            dead.append(f'{100 * active:.1f}% of its {num_units} hidden units fired on the batch '
                        f'(min_active_share={self.min_active_share})')
        if metrics['logit_std'] <= self.min_logit_std:
            dead.append(f'its logits no longer depend on the input (std over the batch '
                        f'{metrics["logit_std"]:.2g})')
        if metrics['grad_into_encoder'] <= self.min_grad_norm:
            dead.append(f'the encoder gets no gradient from it (norm '
                        f'{metrics["grad_into_encoder"]:.2g})')
        return dead
