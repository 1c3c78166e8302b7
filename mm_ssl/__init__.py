"""mm_ssl: self-supervised pretraining for images, LiDAR point clouds and video on mmengine."""
from .engine import compat as _compat

__version__ = '0.1.0'

_compat.apply()
