"""A training hook that watches the representation for collapse."""
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
