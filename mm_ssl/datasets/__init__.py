from .image import CIFAR10Dataset, CIFAR100Dataset, DigitsDataset, ImageFolderDataset
from .kitti import KittiPointImageDataset

__all__ = ['CIFAR10Dataset', 'CIFAR100Dataset', 'DigitsDataset', 'ImageFolderDataset',
           'KittiPointImageDataset']
