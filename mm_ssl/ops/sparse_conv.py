"""Sparse 3D convolutions (Graham et al. 2018, "3D Semantic Segmentation with Submanifold Sparse
Convolutional Networks"; Yan et al. 2018, SECOND) that are exact on CPU.

spconv 2.3.8's CPU path is unusable for training: its backward asks for a CUDA stream before the
CPU branch (so it raises without a driver), and its multi-threaded ``scatter_add_cpu`` sums some
rows wrongly whenever torch runs more than one thread. Its rulebook is correct, so these modules
keep spconv's rulebook and its caching under ``indice_key`` and compute on CPU with mm_ssl's own
fused gather-GEMM-scatter kernels (``csrc/sparse_conv_cpu.cpp``): exact, multi-threaded, and
bit-identical at any thread count, forward and backward. On CUDA tensors they are spconv's
modules unchanged.

The classes subclass spconv's, so parameters, state-dict keys, the weight layout
(C_out, kz, ky, kx, C_in) and ``isinstance(m, spconv.pytorch.SubMConv3d)`` are spconv's.
"""
import functools
import logging
import os
import sys
import weakref

import spconv.pytorch as spconv
import torch
from spconv.core import ConvAlgo
from spconv.pytorch import ops
from spconv.pytorch.conv import _apply_act
from spconv.pytorch.core import IndiceData, SparseConvTensor
from torch.autograd.function import once_differentiable

__all__ = ['SubMConv3d', 'SparseConv3d', 'SparseInverseConv3d', 'sparse_conv_cpu']

# Rows of an output tile: each thread owns whole tiles, and the pairs of one offset inside a tile
# reuse that offset's weight matrix from cache (256: 1.4x faster than 32 on KITTI's layers).
_TILE = 256


@functools.cache
def cpu_kernels():
    """The compiled CPU kernels, built with torch's JIT loader on first use (about 40 s; ``make
    setup`` does it once) and cached under ``TORCH_EXTENSIONS_DIR`` (default
    ``~/.cache/torch_extensions``); an edit of the source rebuilds them. The build is named after
    the SIMD level it targets, so machines sharing one cache each load a build their CPU runs.
    A build killed half-way leaves a ``lock`` file in its folder that the next one waits on:
    delete that folder."""
    # torch's loader finds ``ninja`` on PATH; the venv's own (a dependency) is next to python
    os.environ['PATH'] = os.pathsep.join([os.path.dirname(sys.executable),
                                          os.environ.get('PATH', '')])
    # importing the loader warns that no CUDA runtime exists, which these CPU kernels never need
    logger = logging.getLogger('torch.utils.cpp_extension')
    level = logger.level
    logger.setLevel(logging.ERROR)
    from torch.utils.cpp_extension import load
    logger.setLevel(level)
    simd = torch.backends.cpu.get_cpu_capability()
    flags = ['-mavx2', '-mfma'] if simd in ('AVX2', 'AVX512') else []
    return load(f'mm_ssl_sparse_conv_cpu_{simd.lower()}',
                [os.path.join(os.path.dirname(__file__), 'csrc', 'sparse_conv_cpu.cpp')],
                extra_cflags=['-O3', '-fopenmp', *flags], extra_ldflags=['-fopenmp'])


class _Plan:
    """spconv's rulebook flattened for the kernels, built once per rulebook and shared by every
    layer that reuses it through ``indice_key``.

    ``indice_pairs`` is (2, K, N_in) int32 padded with -1: row 0 input rows, row 1 output rows;
    ``indice_pair_num`` (K,) counts the valid pairs per offset. For SubM spconv only counts the
    offsets before the centre; offset K-1-k holds the mirror pairs of k with the same count, and
    the centre is the identity (done as one dense ``mm``)."""

    def __init__(self, data):
        pairs, counts = data.indice_pairs, data.indice_pair_num.tolist()
        self.num_offsets = kv = len(counts)
        if data.is_subm:
            counts = [0 if k == kv // 2 else counts[min(k, kv - 1 - k)] for k in range(kv)]
        active = [k for k in range(kv) if counts[k] > 0]
        self.rows = {side: torch.cat([pairs[side, k, :counts[k]] for k in active]
                                     or [pairs[side, 0, :0]]).contiguous()
                     for side in (0, 1)}  # 0: input rows, 1: output rows, grouped by offset
        self.offset_of_pair = torch.repeat_interleave(
            torch.tensor(active, dtype=torch.int32),
            torch.tensor([counts[k] for k in active], dtype=torch.long))
        self.active = torch.tensor(active, dtype=torch.int32)
        self.offset_start = torch.tensor([0] + [counts[k] for k in active]).cumsum(0)
        self.num_rows = (data.indices.shape[0], data.out_indices.shape[0])
        self._by_scatter_side = {}

    def sorted_by(self, side):
        """Pairs sorted by (tile of the rows on ``side``, offset): (scatter rows, gather rows,
        offsets, first pair of each tile)."""
        if side not in self._by_scatter_side:
            self._by_scatter_side[side] = cpu_kernels().plan(
                self.rows[side], self.rows[1 - side], self.offset_of_pair, self.num_rows[side],
                self.num_offsets, _TILE)
        return self._by_scatter_side[side]


_PLANS = weakref.WeakKeyDictionary()


def _plan(data):
    if (plan := _PLANS.get(data)) is None:
        plan = _PLANS[data] = _Plan(data)
    return plan


class _GatherMMScatter(torch.autograd.Function):
    """``out[o] += features[i] @ W_k^T`` over the rulebook's pairs (i, o, k), fused in C++: each
    output row is owned by one thread and summed in offset order, so the result does not depend
    on the thread count. The backward scatters ``grad[o] @ W_k`` into input rows the same way and
    sums each offset's weight gradient on one thread."""

    @staticmethod
    def forward(ctx, features, weight, out, plan, inverse):
        w = weight.reshape(weight.shape[0], -1, weight.shape[-1])  # (C_out, K, C_in)
        gather_side = 1 if inverse else 0
        cpu_kernels().gather_mm_scatter(out, features, w.permute(1, 2, 0).contiguous(),
                                        *plan.sorted_by(1 - gather_side))
        ctx.save_for_backward(features, weight)
        ctx.plan, ctx.gather_side = plan, gather_side
        ctx.mark_dirty(out)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        features, weight = ctx.saved_tensors
        plan, side = ctx.plan, ctx.gather_side
        grad = grad.contiguous()
        w = weight.reshape(weight.shape[0], -1, weight.shape[-1])  # (C_out, K, C_in)
        grad_f = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_f = torch.zeros_like(features)
            cpu_kernels().gather_mm_scatter(grad_f, grad, w.permute(1, 0, 2).contiguous(),
                                            *plan.sorted_by(side))
        if ctx.needs_input_grad[1]:
            dw = cpu_kernels().weight_grad(features, grad, plan.rows[1 - side], plan.rows[side],
                                           plan.offset_start, plan.active, plan.num_offsets)
            grad_w = dw.permute(2, 0, 1).reshape(weight.shape)  # (K, C_in, C_out) -> spconv's
        return grad_f, grad_w, grad, None, None


def sparse_conv_cpu(features, weight, data, num_out, inverse=False):
    """Output features of a sparse convolution over spconv's rulebook, computed on CPU.

    Args:
        features: (N_in, C_in) input features.
        weight: (C_out, *kernel_size, C_in), spconv >= 2.2 layout.
        data: spconv ``IndiceData`` (the rulebook of the regular, SubM or paired inverse conv).
        num_out: number of output sites.
        inverse: use the rulebook backwards (inverse conv: outputs are the rulebook's inputs).

    Shape:
        returns (num_out, C_out).
    """
    plan = _plan(data)
    features = features.contiguous()
    if data.is_subm:
        w = weight.reshape(weight.shape[0], -1, weight.shape[-1])
        out = features @ w[:, w.shape[1] // 2].T
    else:
        out = features.new_zeros(num_out, weight.shape[0])
    if len(plan.active) == 0:
        return out
    return _GatherMMScatter.apply(features, weight, out, plan, inverse)


class _ExactOnCPU:
    """Replaces spconv's compute for CPU tensors. CUDA tensors go to spconv, and so do 1x1 convs:
    spconv does them as one ``mm`` on every device, reading the weight as ``view(C_in, C_out)``
    (not the transpose of (C_out, C_in)); keeping that keeps its checkpoints' meaning."""

    def forward(self, input: SparseConvTensor, add_input: SparseConvTensor = None):
        if input.features.is_cuda or self.conv1x1:
            return super().forward(input, add_input)
        if input.is_quantized:
            raise NotImplementedError(f'{type(self).__name__}: int8 is not supported on CPU')
        assert input.features.shape[1] == self.in_channels, 'channel size mismatch'
        shape = input.spatial_shape
        out_shape = shape if self.subm else ops.get_conv_output_size(
            shape, self.kernel_size, self.stride, self.padding, self.dilation)
        indice_dict = input.indice_dict.copy()
        data = input.find_indice_pair(self.indice_key)
        if self.inverse:
            assert data is not None and not data.is_subm, \
                'inverse conv needs the indice_key of a regular conv applied before'
            self._check_inverse_reuse_valid(input, shape, data)
            out_ids, out_shape = data.indices, data.spatial_shape
        elif data is not None:
            assert self.subm, 'only SubM layers can reuse an indice_key'
            self._check_subm_reuse_valid(input, shape, data)
            out_ids = data.out_indices
        else:
            out_ids, pairs, counts = ops.get_indice_pairs(
                input.indices, input.batch_size, shape, ConvAlgo.Native, self.kernel_size,
                self.stride, self.padding, self.dilation, self.output_padding, self.subm,
                self.transposed)
            data = IndiceData(out_ids, input.indices, pairs, counts, shape, out_shape,
                              is_subm=self.subm, algo=ConvAlgo.Native, ksize=self.kernel_size,
                              stride=self.stride, padding=self.padding, dilation=self.dilation)
            if self.indice_key is not None:
                indice_dict[self.indice_key] = data
        features = sparse_conv_cpu(input.features, self.weight, data, out_ids.shape[0],
                                   self.inverse)
        if self.bias is not None:
            features = features + self.bias
        if add_input is not None:
            features = features + add_input.features
        features = _apply_act(features, self.act_type, self.act_alpha, self.act_beta)
        if (buf := self.get_max_num_voxels()) is not None:
            buf.clamp_(min=out_ids.shape[0])
        out = input.replace_feature(features)
        out.indices, out.spatial_shape, out.indice_dict = out_ids, out_shape, indice_dict
        return out


class SubMConv3d(_ExactOnCPU, spconv.SubMConv3d):
    """``spconv.pytorch.SubMConv3d`` (same arguments): outputs only at the input's active sites.

    Shape:
        input: SparseConvTensor with features (N, in_channels), indices (N, 4) int32 (b, z, y, x).
        output: SparseConvTensor with the same indices and features (N, out_channels).
    """


class SparseConv3d(_ExactOnCPU, spconv.SparseConv3d):
    """``spconv.pytorch.SparseConv3d`` (same arguments): outputs at every site whose receptive
    field holds an active input, on the grid of ``conv3d`` with the same kernel/stride/padding.

    Shape:
        input: SparseConvTensor with features (N, in_channels) on spatial shape (D, H, W).
        output: SparseConvTensor with features (M, out_channels) on the ``conv3d`` output shape.
    """


class SparseInverseConv3d(_ExactOnCPU, spconv.SparseInverseConv3d):
    """``spconv.pytorch.SparseInverseConv3d`` (same arguments): the transpose of the regular conv
    that created ``indice_key``, back onto that conv's input sites.

    Shape:
        input: SparseConvTensor with features (M, in_channels), the paired conv's output.
        output: SparseConvTensor with the paired conv's input indices, (N, out_channels).
    """
