"""finetune_drift (behind benchmarks/finetune_drift.py): the relative weight change of the
encoder under fine-tuning."""

import pytest
import torch
from test_det3d_transfer import RANGE, VOXEL

from mm_ssl.evaluation.det3d import VoxelCenterDetector, finetune_drift, load_labelled_frames


def test_drift_is_the_relative_change_of_the_conv_weights(synthetic_kitti):
    frames = load_labelled_frames(synthetic_kitti, 'trainval', RANGE)[:2]
    torch.manual_seed(0)
    detector = VoxelCenterDetector(VOXEL, RANGE)
    overall, per_layer = finetune_drift(detector, frames, iters=2, seed=0, encoder_lr_mult=0.0)
    assert overall == 0.0 and set(per_layer.values()) == {0.0}

    torch.manual_seed(0)
    detector = VoxelCenterDetector(VOXEL, RANGE)
    w0 = detector.encoder.conv1[0][0].weight.detach().clone()
    start = torch.cat([p.detach().flatten() for p in detector.encoder.parameters() if p.dim() > 1])
    overall, per_layer = finetune_drift(detector, frames, iters=2, seed=0, encoder_lr_mult=1.0)
    end = torch.cat([p.detach().flatten() for p in detector.encoder.parameters() if p.dim() > 1])
    # the reference in float64: a float32 norm of the 0.7M concatenated weights is off by 2e-4
    start, end = start.double(), end.double()
    assert overall == pytest.approx(((end - start).norm() / start.norm()).item(), rel=1e-5)
    w1 = detector.encoder.conv1[0][0].weight.detach()
    assert per_layer['conv1'] == pytest.approx(((w1 - w0).norm() / w0.norm()).item(), rel=1e-5)
    assert list(per_layer) == ['conv_input', 'conv1', 'conv2', 'conv3', 'conv4', 'conv_out']
