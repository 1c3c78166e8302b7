from .color import lab_to_rgb, rgb_to_lab
from .multiview import (MultiViewAugment, ViewAugment, adjust_brightness, adjust_contrast,
                        adjust_hue, adjust_saturation, gaussian_blur, resized_crop,
                        rgb_to_grayscale, sample_crop_boxes, solarize)
from .points import (GlobalAugment, GlobalAugRecord, ImageResizeFlip, range_filter, sample_points,
                     sparse_shape, voxelize, voxelize_batch)
from .pretext import (grid_tiles, jigsaw_permutations, min_hamming_distance, region_mask,
                      rotate_all, shuffle_tiles)
from .superpixels import SLICSuperpixels
from .video import (ClipAugment, dense_flow, flow_scale, local_disturbance, reverse_clip,
                    rotate_clip, shuffle_clip, speed_indices, temporal_shift)

__all__ = ['ViewAugment', 'MultiViewAugment', 'sample_crop_boxes', 'resized_crop',
           'adjust_brightness', 'adjust_contrast', 'adjust_saturation', 'adjust_hue',
           'rgb_to_grayscale', 'gaussian_blur', 'solarize', 'GlobalAugment', 'GlobalAugRecord',
           'ImageResizeFlip', 'range_filter', 'sample_points', 'sparse_shape', 'voxelize',
           'voxelize_batch', 'SLICSuperpixels', 'rgb_to_lab', 'lab_to_rgb',
           'grid_tiles', 'jigsaw_permutations', 'min_hamming_distance', 'region_mask',
           'rotate_all', 'shuffle_tiles', 'ClipAugment', 'dense_flow', 'flow_scale',
           'local_disturbance', 'reverse_clip', 'rotate_clip', 'shuffle_clip', 'speed_indices',
           'temporal_shift']
