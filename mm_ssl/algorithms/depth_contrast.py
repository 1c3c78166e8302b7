import torch
import torch.nn as nn

from mm_ssl.models.encoders.voxel_backbone import FrameMaxPool, sparse_input
from mm_ssl.registry import MODELS

from .moco import MoCo


@MODELS.register_module()
class DepthContrast(MoCo):
    """DepthContrast (Zhang et al., "Self-Supervised Pretraining of 3D Features on any
    Point-Cloud", ICCV 2021), its voxel branch: frame-level instance discrimination with a
    momentum key encoder and a queue of past keys, i.e. MoCo on LiDAR frames (MoCo's momentum
    step, queue and loss are reused as they are).

    Frame feature: the channel-wise maximum over the voxels of the encoder's 128-channel output
    (``encoded_spconv_tensor``), :class:`~mm_ssl.models.encoders.voxel_backbone.FrameMaxPool`.
    Max pooling is DepthContrast's (its sparse U-Net max-pools every frame); it does not depend
    on how many voxels a view has, which changes with the augmentation's scale and with what
    the rotation moves out of range, where a mean would. Pooling the last output trains every
    layer that is exported, ``conv_out`` included.

    The query is view A through encoder, pooling and ``neck`` (DepthContrast: a 3-layer MLP,
    128-d, no BN), the key view B through their momentum copy; other frames' keys in the queue
    are the negatives; τ = 0.1, queue 65536, momentum 0.999 (DepthContrast's LiDAR settings).
    View B is SimIPU's (rotation, scaling, BEV flip, shuffle) read without the image.

    Args:
        encoder: config of the point encoder, a VoxelBackBone8x (``encoder.*`` in checkpoints).
        neck: MLP config of the projection head (``in_dim`` filled in).
        queue_size, momentum, cosine_schedule, symmetric, loss: as :class:`MoCo`.
    """

    def __init__(self, encoder: dict, neck: dict,
                 loss: dict = dict(type='InfoNCELoss', temperature=0.1), **kwargs):
        super().__init__(encoder, neck, loss=loss, **kwargs)

    def online_network(self) -> tuple[nn.Module, ...]:
        # the pooling has no parameters: the copy's parameters pair with encoder + projector's
        return self.encoder, FrameMaxPool(), self.projector

    def query(self, voxels, batch_size: int) -> torch.Tensor:
        """Online embedding (B, d) of a batch of voxelised frames: the chain the key network
        copies."""
        x = sparse_input(self.encoder, voxels, batch_size)
        for module in self.online_network():
            x = module(x)
        return x

    def compute_loss(self, inputs: dict) -> tuple[dict, None]:
        batch = len(inputs['points_a'])
        q_a = self.query(inputs['voxels_a'], batch)
        q_b = self.query(inputs['voxels_b'], batch) if self.symmetric else None
        self.update_target()
        k_b = self.target(sparse_input(self.encoder, inputs['voxels_b'], batch))
        k_a = self.target(sparse_input(self.encoder, inputs['voxels_a'], batch)) \
            if self.symmetric else None
        return dict(loss=self.contrast(q_a, k_b, q_b, k_a)), None
