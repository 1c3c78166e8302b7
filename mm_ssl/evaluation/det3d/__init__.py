"""The in-suite 3D-detection probe of point encoders: a CenterPoint-style head on
``VoxelBackBone8x`` (``head``), fine-tuned on labelled KITTI-format frames (``transfer``) and
scored with KITTI's BEV / 3D AP (``ap``)."""
from .ap import average_precision, bev_iou, iou_3d
from .head import CenterHead, to_bev
from .transfer import (CLASSES, LabelledFrame, VoxelCenterDetector, compare_transfer,
                       detection_ap, encoder_state, finetune, load_labelled_frame,
                       load_labelled_frames, mean_and_spread, paired_gains,
                       plot_finetune_losses, precise_bn, transfer_table)

__all__ = ['average_precision', 'bev_iou', 'iou_3d', 'CenterHead', 'to_bev', 'CLASSES',
           'LabelledFrame', 'VoxelCenterDetector', 'compare_transfer', 'detection_ap',
           'encoder_state', 'finetune', 'load_labelled_frame', 'load_labelled_frames',
           'mean_and_spread', 'paired_gains', 'plot_finetune_losses', 'precise_bn',
           'transfer_table']
