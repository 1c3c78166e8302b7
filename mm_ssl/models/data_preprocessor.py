import torch
from mmengine.model import BaseDataPreprocessor

from mm_ssl.ops.dist import world_info
from mm_ssl.registry import MODELS, TRANSFORMS
from mm_ssl.transforms.points import voxelize_batch


@MODELS.register_module()
class SSLDataPreprocessor(BaseDataPreprocessor):
    """Moves a collated batch to the model's device, runs the batched view augmentation there
    (training only) and normalises uint8 images to float.

    Augmenting after collation does the views of a whole batch in a few tensor ops, on the GPU
    when there is one. Its random draws come from a generator seeded by (seed, rank, step); the
    step counter is a buffer, saved in checkpoints, so a resumed run augments exactly like an
    uninterrupted one.

    Input: ``dict(img=uint8 (B,C,H,W) or list of such views, label=(B,), idx=(B,))``.
    Output: ``dict(inputs=float (B,C,H,W) or list of views, data_samples=dict(label, idx))``.
    """

    def __init__(self, mean=(127.5, 127.5, 127.5), std=(127.5, 127.5, 127.5), augment=None,
                 seed: int | None = None, channels_last: bool = False):
        super().__init__()
        self.augment = TRANSFORMS.build(augment) if isinstance(augment, dict) else augment
        self.channels_last = channels_last
        self.register_buffer('mean', torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(std).view(1, -1, 1, 1), persistent=False)
        # the runner seeds torch before building the model, so this follows `randomness.seed`
        seed = torch.initial_seed() if seed is None else seed
        self.register_buffer('aug_seed', torch.tensor(seed % 2**62, dtype=torch.long))
        self.register_buffer('aug_step', torch.zeros((), dtype=torch.long))

    def _generator(self) -> torch.Generator:
        rank, _ = world_info()
        seed = (int(self.aug_seed) * 1_000_003 + rank * 7_919 + int(self.aug_step)) % 2**63
        self.aug_step += 1
        return torch.Generator().manual_seed(seed)

    def _normalize(self, img: torch.Tensor) -> torch.Tensor:
        x = (img.to(self.mean.dtype) - self.mean) / self.std   # float64 after model.double()
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        img = data['img']
        if training and self.augment is not None:
            img = self.augment(img, generator=self._generator())
        inputs = [self._normalize(v) for v in img] if isinstance(img, (list, tuple)) \
            else self._normalize(img)
        samples = {k: v for k, v in data.items() if k != 'img'}
        return dict(inputs=inputs, data_samples=samples)


@MODELS.register_module()
class PointImagePreprocessor(BaseDataPreprocessor):
    """Batches SimIPU samples (collated with ``pseudo_collate``: lists) on the model's device:
    voxelises both point views for the sparse encoder, pads and normalises the images.

    Output ``inputs``: ``voxels_a`` / ``voxels_b`` (features (M, C), coords (M, 4) = (b, z, y, x)),
    ``points_a`` / ``points_b`` (lists of (N, C)), ``perm`` (row j of view B is row perm[j] of
    view A), ``images`` (B, 3, H, W) float, ``lidar2img`` (B, 4, 4) for view A, ``image_hw``
    (H, W) of the padded batch and ``valid_hw`` (the unpadded size of each image). Samples
    without an image (``KittiPointImageDataset(with_image=False)``, for LiDAR-only methods) give
    the point keys only; samples without a view B (no ``GlobalAugment``: Occupancy-MAE, SLidR)
    give no ``*_b`` keys and no ``perm``. Samples with ``superpixels``
    (:class:`~mm_ssl.transforms.SLICSuperpixels`) give them padded like the images, with -1:
    (B, H, W) int64.
    """

    def __init__(self, voxel_size=(0.05, 0.05, 0.1), point_range=(0, -40, -3, 70.4, 40, 1),
                 mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375)):
        super().__init__()
        self.voxel_size, self.point_range = tuple(voxel_size), tuple(point_range)
        self.register_buffer('mean', torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        dtype = self.mean.dtype   # float32, or float64 after model.double()
        inputs = dict(points_a=[p.to(dtype) for p in data['points']])
        views = ('a', 'b') if 'points_b' in data else ('a',)
        if 'points_b' in data:
            inputs.update(points_b=[p.to(dtype) for p in data['points_b']],
                          perm=[rec.perm.to(self.mean.device) for rec in data['aug']])
        if 'image' in data:
            h = max(img.shape[-2] for img in data['image'])
            w = max(img.shape[-1] for img in data['image'])
            images = torch.stack([
                torch.nn.functional.pad(img, (0, w - img.shape[-1], 0, h - img.shape[-2]))
                for img in data['image']])
            inputs.update(
                images=(images.to(dtype) - self.mean) / self.std,
                lidar2img=torch.stack(data['lidar2img']).to(dtype),
                # pseudo_collate transposes the (H, W) pairs into (all H, all W)
                image_hw=(h, w), valid_hw=list(zip(*data['img_shape'])))
        if 'superpixels' in data:
            inputs['superpixels'] = torch.stack([
                torch.nn.functional.pad(s, (0, w - s.shape[-1], 0, h - s.shape[-2]), value=-1)
                for s in data['superpixels']])
        for view in views:
            feats, coords, _ = voxelize_batch(inputs[f'points_{view}'], self.voxel_size,
                                              self.point_range)
            inputs[f'voxels_{view}'] = (feats, coords)
        return dict(inputs=inputs, data_samples=dict(sample_idx=data.get('sample_idx')))
