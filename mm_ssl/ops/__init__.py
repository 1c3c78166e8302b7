from .sparse_conv import SparseConv3d, SparseInverseConv3d, SubMConv3d, sparse_conv_cpu

__all__ = ['SparseConv3d', 'SparseInverseConv3d', 'SubMConv3d', 'sparse_conv_cpu']
