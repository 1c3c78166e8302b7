"""Synchronised BatchNorm for CPU (gloo) training, where torch's ``nn.SyncBatchNorm`` refuses
to run ("SyncBatchNorm expected input tensor to be on GPU")."""
import torch
import torch.nn as nn

from .dist import all_reduce_with_grad, world_info


class CPUSyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    r"""BatchNorm whose training-mode statistics are those of the global batch (all ranks), as
    ``nn.SyncBatchNorm`` computes them on GPUs (Ioffe & Szegedy 2015; Peng et al. 2018, MegDet):

    .. math::
        \mu = \frac{1}{n}\sum_{r,i} x_{r,i}, \quad
        \sigma^2 = \frac{1}{n}\sum_{r,i} (x_{r,i} - \mu)^2, \quad
        y = \gamma \frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}} + \beta

    over the n values of a channel on every rank r. The sums go through an autograd-aware
    all-reduce, so the gradient also flows across ranks; 2 ranks x B samples then train exactly
    like 1 process x 2B. Running statistics are updated as ``nn.BatchNorm`` does, with the
    unbiased global variance. In eval mode and in one process it is plain BatchNorm. Runs on any
    device; the runner uses it where torch's SyncBatchNorm cannot (CPU).

    Shape:
        - input: (N, C) or (N, C, *), output: the same.
    """

    def _check_input_dim(self, x):
        if x.dim() < 2:
            raise ValueError(f'CPUSyncBatchNorm expects (N, C, *) input, got {tuple(x.shape)}')

    def forward(self, x):
        if not self.training or world_info()[1] == 1:
            return super().forward(x)
        self._check_input_dim(x)
        dims = [0, *range(2, x.dim())]
        shape = (1, -1) + (1,) * (x.dim() - 2)
        count = x.new_tensor([x.numel() // max(x.shape[1], 1)])
        # two passes (mean, then squared deviations) keep float32 as exact as plain BatchNorm
        sums = all_reduce_with_grad(torch.cat([x.sum(dims), count]))     # (C + 1,)
        n = sums[-1].detach()
        mean = sums[:-1] / n                                             # (C,)
        centred = x - mean.view(shape)
        var = all_reduce_with_grad(centred.pow(2).sum(dims)) / n         # (C,) biased
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = self.momentum if self.momentum is not None \
                    else 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), factor)
                unbiased = var * n / (n - 1).clamp(min=1)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), factor)
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        return out * self.weight.view(shape) + self.bias.view(shape) if self.affine else out


def convert_cpu_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm1d/2d/3d of ``module`` (and ``module`` itself if it is one) by a
    :class:`CPUSyncBatchNorm` sharing its parameters and buffers; returns the converted module."""
    out = module
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
        out = CPUSyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                               module.track_running_stats)
        if module.affine:
            out.weight, out.bias = module.weight, module.bias
        if module.track_running_stats:
            out.running_mean, out.running_var = module.running_mean, module.running_var
            out.num_batches_tracked = module.num_batches_tracked
        out.train(module.training)
    for name, child in module.named_children():
        out.add_module(name, convert_cpu_sync_batchnorm(child))
    return out
