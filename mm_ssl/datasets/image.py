"""Image datasets: scikit-learn digits, CIFAR-10/100 (official python pickles), image folders.

Every dataset returns ``dict(img, label, idx)`` with ``img`` a uint8 (C, H, W) tensor, or
``pipeline(img)`` when a pipeline is given, and exposes ``labels``, ``num_classes`` and
``metainfo = dict(classes=[...])`` (kNN evaluation reads ``labels``)."""
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset
from torchvision.transforms.v2 import functional as TF

from mm_ssl.errors import ConfigError, DataError
from mm_ssl.registry import DATASETS, TRANSFORMS

from .safe_pickle import load_data_pickle
from .sampler import sample_rng


class _ImageDataset(Dataset):
    """Sample protocol shared by all datasets; subclasses with no ``images`` tensor override
    ``load_image``."""

    def __init__(self, classes, labels, pipeline):
        self.metainfo = dict(classes=list(classes))
        self.num_classes = len(classes)
        self.labels = torch.as_tensor(labels, dtype=torch.long)
        self.pipeline = TRANSFORMS.build(pipeline) if isinstance(pipeline, dict) else pipeline

    def __len__(self):
        return len(self.labels)

    def load_image(self, i):
        return self.images[i].clone()  # a copy, so an in-place transform cannot alter the dataset

    def __getitem__(self, i):
        img = self.load_image(i)
        if self.pipeline is not None:
            with sample_rng(i):  # random transforms per sample (SeededSampler)
                img = self.pipeline(img)
        return dict(img=img, label=int(self.labels[i]), idx=int(i))


@DATASETS.register_module()
class DigitsDataset(_ImageDataset):
    """scikit-learn's 1797 8x8 handwritten digits (ships with sklearn: no download), scaled to
    0-255, resized to ``size`` (bilinear, antialiased) and replicated to ``channels``.

    The train/test split is stratified and fixed by ``split_seed``; ``source_index`` holds each
    sample's index in ``sklearn.datasets.load_digits()``.

    Shape:
        images: (N, channels, size, size) uint8; labels, source_index: (N,) int64.
    """

    def __init__(self, split='train', size=32, channels=3, test_fraction=0.2, split_seed=0,
                 pipeline=None):
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        if split not in ('train', 'test'):
            raise ConfigError(f"DigitsDataset: split must be 'train' or 'test', got {split!r}")
        digits = load_digits()
        train, test = train_test_split(np.arange(len(digits.target)), test_size=test_fraction,
                                       stratify=digits.target, random_state=split_seed)
        self.source_index = torch.from_numpy(np.sort(train if split == 'train' else test))
        x = torch.from_numpy(digits.images)[self.source_index, None]
        x = (x * (255 / 16)).round()  # quantise first, like an 8-bit image file would be
        x = F.interpolate(x, size=(size, size), mode='bilinear', antialias=True)
        self.images = x.round().clamp(0, 255).to(torch.uint8).repeat(1, channels, 1, 1)
        super().__init__([str(c) for c in digits.target_names],
                         digits.target[self.source_index.numpy()], pipeline)


def _read(path, *keys):
    """The values of ``keys`` in the CIFAR pickle at ``path``."""
    if not path.is_file():
        raise DataError(f'{path}: missing file (expected the batches of the official CIFAR '
                        '"python version" release here)')
    try:
        with open(path, 'rb') as f:
            batch = load_data_pickle(f, encoding='bytes')
        return [batch[k] for k in keys]
    except Exception as exc:  # any unpickling or lookup failure means it is not a CIFAR pickle
        raise DataError(f'{path}: not a CIFAR pickle ({exc!r})') from exc


class _CIFAR(_ImageDataset):
    """Reads ``files[split]`` and ``meta`` from ``root/folder`` or from ``root`` itself;
    subclasses set these and the pickle keys ``label_key`` and ``names_key``."""

    def __init__(self, root, split, pipeline):
        if split not in self.files:
            raise ConfigError(f'{type(self).__name__}: split must be one of {list(self.files)}, '
                              f'got {split!r}')
        root = Path(root).expanduser()
        if not root.is_dir():
            raise DataError(f'{root}: no such directory (expected a folder holding '
                            f'{self.folder}/ or that folder itself)')
        folder = root / self.folder
        if not folder.is_dir():
            if root.name != self.folder and not (root / self.meta).is_file():
                raise DataError(f'{root}: no {self.folder}/ in it (expected the official CIFAR '
                                'python release extracted there, or root to be that folder)')
            folder = root
        data, labels = [], []
        for name in self.files[split]:
            x, y = _read(folder / name, b'data', self.label_key)
            data.append(np.asarray(x, dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.extend(y)
        self.images = torch.from_numpy(np.concatenate(data))
        classes = [n.decode() for n in _read(folder / self.meta, self.names_key)[0]]
        super().__init__(classes, labels, pipeline)


@DATASETS.register_module()
class CIFAR10Dataset(_CIFAR):
    """CIFAR-10 (Krizhevsky 2009) from the official python pickles in
    ``root/cifar-10-batches-py`` (``root`` may also be that folder itself).

    Shape:
        images: (N, 3, 32, 32) uint8 (50000 train, 10000 test); labels: (N,) int64.
    """
    folder, meta = 'cifar-10-batches-py', 'batches.meta'
    files = dict(train=[f'data_batch_{i}' for i in range(1, 6)], test=['test_batch'])
    label_key, names_key = b'labels', b'label_names'

    def __init__(self, root, split='train', pipeline=None):
        super().__init__(root, split, pipeline)


@DATASETS.register_module()
class CIFAR100Dataset(_CIFAR):
    """CIFAR-100 (Krizhevsky 2009) from the official python pickles in ``root/cifar-100-python``
    (``root`` may also be that folder itself), with the 100 ``'fine'`` or 20 ``'coarse'`` labels.

    Shape:
        images: (N, 3, 32, 32) uint8 (50000 train, 10000 test); labels: (N,) int64.
    """
    folder, meta = 'cifar-100-python', 'meta'
    files = dict(train=['train'], test=['test'])

    def __init__(self, root, split='train', pipeline=None, label='fine'):
        if label not in ('fine', 'coarse'):
            raise ConfigError(f"CIFAR100Dataset: label must be 'fine' or 'coarse', got {label!r}")
        self.label_key, self.names_key = f'{label}_labels'.encode(), f'{label}_label_names'.encode()
        super().__init__(root, split, pipeline)


@DATASETS.register_module()
class ImageFolderDataset(_ImageDataset):
    """Class-per-subfolder image tree (torchvision's ImageFolder layout; classes sorted by name),
    decoded lazily with PIL to RGB. With ``size``, the shorter side is resized to ``size`` and the
    centre ``size`` x ``size`` crop kept, so samples stack into batches without a pipeline.

    Attributes:
        samples: list of (path, class index), sorted by class then path.

    Shape:
        img: (3, H, W) uint8, or (3, size, size).
    """

    def __init__(self, root, pipeline=None, size=None,
                 extensions=('.jpg', '.jpeg', '.png', '.bmp', '.webp')):
        root = Path(root).expanduser()
        if not root.is_dir():
            raise DataError(f'{root}: no such directory (expected one image subfolder per class)')
        extensions = tuple(e.lower() for e in extensions)
        classes = sorted(d.name for d in root.iterdir() if d.is_dir())
        self.samples = [(p, c) for c, name in enumerate(classes)
                        for p in sorted((root / name).rglob('*'))
                        if p.is_file() and p.suffix.lower() in extensions]
        if not self.samples:
            raise DataError(f'{root}: no images with extensions {extensions} in class subfolders')
        self.size = size
        super().__init__(classes, [c for _, c in self.samples], pipeline)

    def load_image(self, i):
        path = self.samples[i][0]
        try:
            with Image.open(path) as im:
                img = TF.pil_to_tensor(im.convert('RGB'))
        except (OSError, SyntaxError, ValueError) as exc:  # PIL raises all three for bad files
            raise DataError(f'{path}: cannot decode image ({exc})') from exc
        if self.size is not None:
            img = TF.center_crop(TF.resize(img, self.size, antialias=True), self.size)
        return img
