"""Fixes for mmengine 0.10.7 on this stack (torch 2.14, setuptools >= 82), applied on import of
mm_ssl. Each is covered by a test in tests/engine/test_mmengine_compat.py that fails without it.

1. Resume: torch >= 2.6 loads with ``weights_only=True`` and mmengine's checkpoints hold
   ``HistoryBuffer`` objects (numpy arrays plus a dict of functions, pickled through ``getattr``).
   We allow-list the buffer and the numpy array types, and pickle the buffer without its function
   dict, so checkpoints load under the safe loader instead of turning the check off.
2. ``pkg_resources`` is gone from setuptools >= 82; mmengine uses it to find installed packages
   for ``pkg::`` config bases and absolute imports in ``read_base()``. We re-implement those three
   helpers with ``importlib.metadata``.
3. CPU-only distributed training: see :class:`mm_ssl.engine.runner.SSLRunner`.
"""
import importlib.metadata
import importlib.util
import os.path as osp

import numpy as np
import torch
from mmengine.logging import HistoryBuffer


def _history_buffer_getstate(self) -> dict:
    # the default adds the class-wide dict of statistics functions, which pickles via getattr
    return {k: v for k, v in self.__dict__.items() if k != 'statistics_methods'}


def _allow_checkpoint_globals() -> None:
    HistoryBuffer()  # registers the built-in statistics methods that unpickled buffers look up
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    dtypes = {type(np.dtype(t)) for t in (np.float64, np.float32, np.int64, np.int32, np.bool_)}
    torch.serialization.add_safe_globals([
        HistoryBuffer, np.ndarray, np.dtype, np._core.multiarray._reconstruct,
        np._core.multiarray.scalar, *dtypes])


def _distribution(package: str):
    try:
        return importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def is_installed(package: str) -> bool:
    """``mmengine.utils.is_installed`` without pkg_resources."""
    if _distribution(package) is not None:
        return True
    spec = importlib.util.find_spec(package)
    return spec is not None and spec.origin is not None


def package2module(package: str) -> str:
    """``mmengine.utils.package2module`` without pkg_resources: the first top-level module."""
    dist = _distribution(package)
    top_level = dist.read_text('top_level.txt') if dist else None
    if top_level:
        return top_level.split('\n')[0]
    modules = [m for m, dists in importlib.metadata.packages_distributions().items()
               if package in dists]
    if not modules:
        raise ValueError(f'can not infer the module name of {package}')
    return modules[0]


def get_installed_path(package: str) -> str:
    """``mmengine.utils.get_installed_path`` without pkg_resources.

    The import system is asked first: it knows editable installs, whose distribution location
    is not the source tree."""
    for module in (package, package.replace('-', '_')):
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.origin is not None:
            return osp.dirname(spec.origin)
    dist = _distribution(package)
    if dist is None:
        raise importlib.metadata.PackageNotFoundError(package)
    return osp.join(str(dist.locate_file('')), package2module(package))


def _replace_pkg_resources_helpers() -> None:
    import mmengine.config.config as config_module
    import mmengine.utils as utils
    import mmengine.utils.package_utils as package_utils
    for module in (package_utils, utils, config_module):
        for name, fn in (('is_installed', is_installed),
                         ('get_installed_path', get_installed_path),
                         ('package2module', package2module)):
            if hasattr(module, name):
                setattr(module, name, fn)


def _register_config_package() -> None:
    # lets user configs inherit ours: _base_ = 'mm_ssl::simclr/...py' (mm_ssl/.mim/configs)
    from mmengine.config.utils import MODULE2PACKAGE
    MODULE2PACKAGE.setdefault('mm_ssl', 'mm_ssl')


def apply() -> None:
    _allow_checkpoint_globals()
    _replace_pkg_resources_helpers()
    _register_config_package()
