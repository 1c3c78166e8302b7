"""KITTI (and Waymo converted to KITTI layout) frames as point cloud + image + projection samples,
for image-point pretraining such as SimIPU (Li et al. 2022, AAAI). Labels are not read.

Frames are listed by an mmdet3d >= 1.1 info file (``data_prep/create_kitti_infos.py`` writes one);
points, calibration and image are read from ``data_root/split/{velodyne_reduced or velodyne, calib,
image_<camera>}``. The calibration is read from its text file rather than the info file, so a bad
one is reported by its path.

Example (SimIPU's views)::

    dataset = dict(type='KittiPointImageDataset', data_root='data/kitti', num_points=16384,
                   pipeline=[dict(type='GlobalAugment'),
                             dict(type='ImageResizeFlip', scale_range=((640, 192), (2400, 720)))])
"""
from pathlib import Path

import torch
from torch.utils.data import Dataset
from torchvision.transforms.v2 import functional as TF

from mm_ssl.errors import ConfigError, DataError
from mm_ssl.registry import DATASETS, TRANSFORMS
from mm_ssl.transforms.points import KITTI_RANGE, range_filter, sample_points

from .bad_samples import SkipBadSamples
from .kitti_io import CAMERA_KEYS, lidar2img, read_calib, read_image, read_points
from .safe_pickle import load_data_pickle
from .sampler import sample_rng

__all__ = ['KittiPointImageDataset']


@DATASETS.register_module()
class KittiPointImageDataset(SkipBadSamples, Dataset):
    """One camera's image and the LiDAR cloud of each frame, with the matrix projecting one into
    the other.

    Args:
        data_root: dataset root holding ``ann_file`` and ``split``.
        ann_file: info pickle, relative to ``data_root`` (or absolute).
        split: ``'training'`` or ``'testing'``.
        num_point_channels: float32 channels per point in the ``.bin`` (4 KITTI, 6 Waymo).
        use_channels: leading channels kept (4 KITTI, 5 Waymo: drops the timestamp).
        camera: image index (2 KITTI left colour, 0 Waymo FRONT).
        reduced: read the camera-frustum clouds of ``velodyne_reduced``.
        point_range: (x0, y0, z0, x1, y1, z1) kept half-open, see :func:`range_filter`.
        num_points: points sampled per frame (:func:`sample_points`); None keeps all.
        pipeline: a transform, its config dict, or a list of them, applied to the sample dict.
        on_bad_sample: ``'raise'`` a :class:`DataError`, or ``'skip'``: log it, record it in
            ``skipped`` and return the next good frame instead.
        max_principal_offset: an image whose size puts the calibration's principal point farther
            than this fraction of the width/height from the image centre is a bad sample (it
            belongs to another camera, or the calibration to another frame).
        with_image: False reads only the cloud (no image, calibration or ``lidar2img``), for
            LiDAR-only methods (PointContrast, DepthContrast) on the same views.

    Attributes:
        skipped, skip_reasons: frame's LiDAR path -> error message (which starts with the
            offending file) and the count per reason, see :class:`SkipBadSamples`. Each sample
            also carries ``skipped``: the messages of the frames skipped to reach it, one per
            line, which :class:`~mm_ssl.engine.BadSampleCounterHook` adds up over the run.

    Shape:
        points: (num_points, use_channels) float32; image: (3, H, W) uint8;
        lidar2img: (4, 4) float64, ``P_camera · R0_rect · Tr_velo_to_cam``.
    """

    def __init__(self, data_root, ann_file='kitti_infos_train.pkl', split='training',
                 num_point_channels=4, use_channels=4, camera=2, reduced=True,
                 point_range=KITTI_RANGE, num_points=16384, pipeline=None, on_bad_sample='raise',
                 max_principal_offset=0.4, with_image=True):
        self.init_bad_samples(on_bad_sample)
        if not 3 <= use_channels <= num_point_channels:
            raise ConfigError(f'KittiPointImageDataset: need 3 <= use_channels <= '
                              f'num_point_channels, got {use_channels} and {num_point_channels}')
        self.root = Path(data_root).expanduser()
        ann = self.root / ann_file
        if not ann.is_file():
            raise DataError(f'{ann}: missing info file (write it with '
                            f'data_prep/create_kitti_infos.py --root {self.root})')
        try:
            with open(ann, 'rb') as f:
                infos = load_data_pickle(f)
            self.data_list, self.metainfo = infos['data_list'], infos.get('metainfo', {})
        except Exception as exc:  # any unpickling or lookup failure means a wrong file
            raise DataError(f'{ann}: not an mmdet3d >= 1.1 info pickle ({exc!r})') from exc
        self.ann_file, self.split = ann, split
        self.num_point_channels, self.use_channels = num_point_channels, use_channels
        self.camera, self.reduced, self.point_range = camera, reduced, point_range
        self.num_points = num_points
        self.max_principal_offset = max_principal_offset
        self.with_image = with_image
        cam_keys = CAMERA_KEYS.get(self.metainfo.get('dataset'), CAMERA_KEYS['kitti'])
        if not 0 <= camera < len(cam_keys):
            raise ConfigError(f'KittiPointImageDataset: camera must be in 0..{len(cam_keys) - 1} '
                              f'for {ann}, got {camera}')
        self.cam_key = cam_keys[camera]
        if not isinstance(pipeline, (list, tuple)):
            pipeline = [] if pipeline is None else [pipeline]
        self.pipeline = [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]
        self.bad_samples_source = ann

    sample_noun = 'frame'

    def __len__(self):
        return len(self.data_list)

    def paths(self, i):
        """(lidar, calib, image) paths of frame ``i``."""
        info, folder = self.data_list[i], self.root / self.split
        name = Path(info['lidar_points']['lidar_path']).name
        img = info.get('images', {}).get(self.cam_key, {}).get('img_path',
                                                               Path(name).stem + '.png')
        return (folder / ('velodyne_reduced' if self.reduced else 'velodyne') / name,
                folder / 'calib' / (Path(name).stem + '.txt'),
                folder / f'image_{self.camera}' / Path(img).name)

    def load(self, i):
        """Sample ``i`` before the pipeline; raises :class:`DataError` for a bad frame."""
        lidar_path, calib_path, img_path = self.paths(i)
        points = read_points(lidar_path, self.num_point_channels)[:, :self.use_channels]
        points = range_filter(torch.from_numpy(points), self.point_range)
        if not len(points):
            raise DataError(f'{lidar_path}: no points inside point_range {self.point_range}')
        if self.num_points:
            points = sample_points(points, self.num_points)[0]
        sample = dict(points=points, sample_idx=self.data_list[i]['sample_idx'], idx=i,
                      lidar_path=str(lidar_path))
        if not self.with_image:
            return sample
        calib = read_calib(calib_path, self.camera)
        image = TF.pil_to_tensor(read_image(img_path))
        h, w = image.shape[-2:]
        cx, cy = calib[f'P{self.camera}'][:2, 2]
        off = self.max_principal_offset
        if abs(cx - w / 2) > off * w or abs(cy - h / 2) > off * h:
            raise DataError(f'{img_path}: a {w}x{h} image, but {calib_path} puts the principal '
                            f'point at ({cx:.1f}, {cy:.1f}), far from its centre: image and '
                            'calibration belong to different cameras or frames')
        sample.update(image=image, img_shape=(h, w), img_flip=False,
                      lidar2img=torch.from_numpy(lidar2img(calib, self.camera)),
                      img_path=str(img_path), calib_path=str(calib_path))
        return sample

    def __getitem__(self, i):
        with sample_rng(i):  # point sampling and augmentation per sample (SeededSampler)
            return self.next_good_sample(i)

    def sample_key(self, i):
        return self.paths(i)[0]
