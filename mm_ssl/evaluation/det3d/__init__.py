"""The in-suite 3D-detection probe of point encoders: a CenterPoint-style head on
``VoxelBackBone8x`` (``head``), fine-tuned on labelled KITTI-format frames (``transfer``), scored
with KITTI's BEV / 3D AP (``ap``), and repeated over nested labelled shares (``curve``)."""
from .ap import average_precision, bev_iou, iou_3d
from .curve import (CURVE_PANELS, LABEL_SHARES, MODE_TITLES, curve_gains, label_efficiency,
                    label_efficiency_table, labelled_subsets, plot_label_efficiency)
from .head import CenterHead, to_bev
from .transfer import (CLASSES, LabelledFrame, VoxelCenterDetector, compare_on_frames,
                       compare_transfer, detection_ap, encoder_state, finetune, finetune_drift,
                       gain_text, load_labelled_frame, load_labelled_frames, mean_and_spread,
                       paired_differences, paired_gains, plot_finetune_losses, precise_bn,
                       spread_text, transfer_table)

__all__ = ['average_precision', 'bev_iou', 'iou_3d', 'CURVE_PANELS', 'LABEL_SHARES',
           'MODE_TITLES', 'curve_gains', 'label_efficiency', 'label_efficiency_table',
           'labelled_subsets', 'plot_label_efficiency', 'CenterHead', 'to_bev', 'CLASSES',
           'LabelledFrame', 'VoxelCenterDetector', 'compare_on_frames', 'compare_transfer',
           'detection_ap', 'encoder_state', 'finetune', 'finetune_drift', 'gain_text',
           'load_labelled_frame', 'load_labelled_frames', 'mean_and_spread',
           'paired_differences', 'paired_gains',
           'plot_finetune_losses', 'precise_bn', 'spread_text', 'transfer_table']
