"""Data pickles (CIFAR batches, mmdet3d info files) read like checkpoints: plain data and numpy
arrays only. ``pickle.load`` would call any function a crafted file names."""
import pickle

__all__ = ['load_data_pickle']

# what numpy arrays and scalars pickle through, besides Python's own containers and numbers
_ALLOWED = {('numpy', 'ndarray'), ('numpy', 'dtype'), ('numpy.core.multiarray', '_reconstruct'),
            ('numpy._core.multiarray', '_reconstruct'), ('numpy.core.multiarray', 'scalar'),
            ('numpy._core.multiarray', 'scalar'), ('collections', 'OrderedDict')}


class _DataUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED or (module.startswith('numpy') and name.endswith('DType')):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f'refused: the file holds a pickled {module}.{name}, which '
                                     'could run code (data pickles may hold plain data and '
                                     'numpy arrays only)')


def load_data_pickle(file, **kwargs):
    """``pickle.load(file, **kwargs)`` that refuses every class or function but numpy's array
    and scalar types, raising :class:`pickle.UnpicklingError` naming the object."""
    return _DataUnpickler(file, **kwargs).load()
