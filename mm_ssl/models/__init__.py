from . import encoders, heads, necks
from .data_preprocessor import SSLDataPreprocessor
from .video_preprocessor import VideoDataPreprocessor

__all__ = ['encoders', 'heads', 'necks', 'SSLDataPreprocessor', 'VideoDataPreprocessor']
