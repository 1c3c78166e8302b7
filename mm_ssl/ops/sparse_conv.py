"""Sparse 3D convolutions (Graham et al. 2018, "3D Semantic Segmentation with Submanifold Sparse
Convolutional Networks"; Yan et al. 2018, SECOND) that are exact on CPU.

spconv 2.3.8's CPU path is unusable for training: its backward asks for a CUDA stream before the
CPU branch (so it raises without a driver), and its multi-threaded ``scatter_add_cpu`` sums some
rows wrongly whenever torch runs more than one thread. Its rulebook is correct, so these modules
keep spconv's rulebook and its caching under ``indice_key`` and compute on CPU with torch's
``index_select`` -> ``mm`` -> ``index_add_``, exact at any thread count, forward and backward.
On CUDA tensors they are spconv's modules unchanged.

The classes subclass spconv's, so parameters, state-dict keys, the weight layout
(C_out, kz, ky, kx, C_in) and ``isinstance(m, spconv.pytorch.SubMConv3d)`` are spconv's.
"""
import weakref

import spconv.pytorch as spconv
import torch
from spconv.core import ConvAlgo
from spconv.pytorch import ops
from spconv.pytorch.conv import _apply_act
from spconv.pytorch.core import IndiceData, SparseConvTensor
from torch.autograd.function import once_differentiable

__all__ = ['SubMConv3d', 'SparseConv3d', 'SparseInverseConv3d', 'sparse_conv_cpu']

# IndiceData -> (gather index, scatter index, pairs per offset, offsets), built once per rulebook
# and shared by every layer that reuses it through ``indice_key``. int64: index_add_ is ~3x
# slower with int32 indices.
_PLANS = weakref.WeakKeyDictionary()


def _plan(data):
    """Flatten spconv's rulebook into a gather and a scatter index, grouped by kernel offset.

    ``indice_pairs`` is (2, K, N_in) int32 padded with -1: row 0 input rows, row 1 output rows;
    ``indice_pair_num`` (K,) counts the valid pairs per offset. For SubM spconv only counts the
    offsets before the centre; offset K-1-k holds the mirror pairs of k with the same count, and
    the centre is the identity (done as one dense ``mm``)."""
    if (plan := _PLANS.get(data)) is not None:
        return plan
    pairs, counts = data.indice_pairs, data.indice_pair_num.tolist()
    kv = len(counts)
    if data.is_subm:
        counts = [0 if k == kv // 2 else counts[min(k, kv - 1 - k)] for k in range(kv)]
    offsets = [k for k in range(kv) if counts[k] > 0]
    src, dst = (torch.cat([pairs[i, k, :counts[k]] for k in offsets] or [pairs[i, 0, :0]]).long()
                for i in (0, 1))
    plan = src, dst, [counts[k] for k in offsets], offsets
    _PLANS[data] = plan
    return plan


class _GatherMMScatter(torch.autograd.Function):
    """``out[dst_k] += features[src_k] @ W_k^T`` for each kernel offset k, as spconv's CPU loop
    does but with torch's exact ``index_add_``. One gather and one product buffer, sized for the
    largest offset, are reused across offsets so they stay in cache; autograd through per-offset
    ops would instead allocate and sum K full-size gradient buffers. The backward runs the same
    loop with src and dst swapped."""

    @staticmethod
    def forward(ctx, features, weight, out, src, dst, sizes, offsets):
        w = weight.reshape(weight.shape[0], -1, weight.shape[-1])  # (C_out, K, C_in)
        rows = features.new_empty(max(sizes), features.shape[1])
        prod = features.new_empty(max(sizes), w.shape[0])
        for s, d, n, k in zip(src.split(sizes), dst.split(sizes), sizes, offsets):
            torch.index_select(features, 0, s, out=rows[:n])
            torch.mm(rows[:n], w[:, k].T, out=prod[:n])
            out.index_add_(0, d, prod[:n])
        ctx.save_for_backward(features, weight, src, dst)
        ctx.sizes, ctx.offsets = sizes, offsets
        ctx.mark_dirty(out)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        features, weight, src, dst = ctx.saved_tensors
        sizes, want_f, want_w = ctx.sizes, *ctx.needs_input_grad[:2]
        w = weight.reshape(weight.shape[0], -1, weight.shape[-1])
        g = grad.new_empty(max(sizes), grad.shape[1])
        rows = features.new_empty(max(sizes), features.shape[1])
        grad_f = torch.zeros_like(features) if want_f else None
        # (K, C_out, C_in): each offset's gradient is a contiguous block mm can write into
        grad_w = weight.new_zeros(w.shape[1], w.shape[0], w.shape[2]) if want_w else None
        for s, d, n, k in zip(src.split(sizes), dst.split(sizes), sizes, ctx.offsets):
            torch.index_select(grad, 0, d, out=g[:n])
            if want_w:
                torch.index_select(features, 0, s, out=rows[:n])
                torch.mm(g[:n].T, rows[:n], out=grad_w[k])
            if want_f:
                torch.mm(g[:n], w[:, k], out=rows[:n])
                grad_f.index_add_(0, s, rows[:n])
        if want_w:
            grad_w = grad_w.transpose(0, 1).reshape(weight.shape)
        return grad_f, grad_w, grad, None, None, None, None


def sparse_conv_cpu(features, weight, data, num_out, inverse=False):
    """Output features of a sparse convolution over spconv's rulebook, with torch ops only.

    Args:
        features: (N_in, C_in) input features.
        weight: (C_out, *kernel_size, C_in), spconv >= 2.2 layout.
        data: spconv ``IndiceData`` (the rulebook of the regular, SubM or paired inverse conv).
        num_out: number of output sites.
        inverse: use the rulebook backwards (inverse conv: outputs are the rulebook's inputs).

    Shape:
        returns (num_out, C_out).
    """
    src, dst, sizes, offsets = _plan(data)
    if inverse:
        src, dst = dst, src
    if data.is_subm:
        w = weight.reshape(weight.shape[0], -1, weight.shape[-1])
        out = features @ w[:, w.shape[1] // 2].T
    else:
        out = features.new_zeros(num_out, weight.shape[0])
    if not offsets:
        return out
    return _GatherMMScatter.apply(features, weight, out, src, dst, sizes, offsets)


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
