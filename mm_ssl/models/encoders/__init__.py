from .resnet import ResNet
from .vit import ViT
from .voxel_backbone import VoxelBackBone8x

__all__ = ['ResNet', 'ViT', 'VoxelBackBone8x']
# issue 3
from .regnet import RegNet  # noqa: E402
__all__ += ['RegNet']
