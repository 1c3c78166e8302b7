from .regnet import RegNet
from .resnet import ResNet
from .video import FrameEncoder, Small3DCNN, VideoResNet
from .vit import ViT
from .voxel_backbone import VoxelBackBone8x

__all__ = ['ResNet', 'RegNet', 'ViT', 'VoxelBackBone8x', 'VideoResNet', 'Small3DCNN',
           'FrameEncoder']
