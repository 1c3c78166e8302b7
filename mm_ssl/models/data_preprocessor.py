import torch
from mmengine.model import BaseDataPreprocessor

from mm_ssl.ops.dist import world_info
from mm_ssl.registry import MODELS, TRANSFORMS


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
        x = (img.float() - self.mean) / self.std
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
