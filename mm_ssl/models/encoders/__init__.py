from .resnet import ResNet
from .vit import ViT

__all__ = ['ResNet', 'ViT']
