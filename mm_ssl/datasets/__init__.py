from .image import CIFAR10Dataset, CIFAR100Dataset, DigitsDataset, ImageFolderDataset
from .kitti import KittiPointImageDataset
from .sampler import SampleIndex, SeededSampler, sample_rng
from .video import FrameCache, VideoDataset, build_video_index, sample_clip_indices
from .video_io import VideoReader
from .video_tasks import VideoTaskDataset

__all__ = ['CIFAR10Dataset', 'CIFAR100Dataset', 'DigitsDataset', 'ImageFolderDataset',
           'KittiPointImageDataset', 'VideoDataset', 'FrameCache', 'VideoReader',
           'build_video_index', 'sample_clip_indices', 'VideoTaskDataset',
           'SampleIndex', 'SeededSampler', 'sample_rng']
