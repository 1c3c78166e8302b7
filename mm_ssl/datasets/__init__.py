from .image import CIFAR10Dataset, CIFAR100Dataset, DigitsDataset, ImageFolderDataset

__all__ = ['CIFAR10Dataset', 'CIFAR100Dataset', 'DigitsDataset', 'ImageFolderDataset']
