from . import encoders, heads, necks
from .data_preprocessor import SSLDataPreprocessor

__all__ = ['encoders', 'heads', 'necks', 'SSLDataPreprocessor']
