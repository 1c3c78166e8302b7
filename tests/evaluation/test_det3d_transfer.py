"""The in-suite detection-transfer benchmark (mm_ssl.evaluation.det3d): labelled frames
read against an independent projection and box conversion, a fair comparison (same seed => same
run up to the encoder's weights), and a detector that learns."""
import math
import shutil

import numpy as np
import pytest
import torch

from mm_ssl.evaluation.det3d.transfer import (CLASSES, VoxelCenterDetector, compare_transfer,
                                              detection_ap, finetune, load_labelled_frame,
                                              load_labelled_frames, mean_and_spread, paired_gains,
                                              precise_bn, transfer_table)

# a small grid so the tests run in seconds: 0.2 m cells over 25.6 m x 32 m
RANGE = (0, -16, -3, 25.6, 16, 1)
VOXEL = (0.2, 0.2, 0.1)


def calib_matrices(path):
    rows = dict(line.split(':', 1) for line in path.read_text().splitlines() if ':' in line)
    P2 = np.array(rows['P2'].split(), float).reshape(3, 4)
    R0 = np.eye(4)
    R0[:3, :3] = np.array(rows['R0_rect'].split(), float).reshape(3, 3)
    Tr = np.eye(4)
    Tr[:3] = np.array(rows['Tr_velo_to_cam'].split(), float).reshape(3, 4)
    return P2, R0, Tr


def test_frame_keeps_in_view_points_and_converts_labels(synthetic_kitti, tmp_path):
    root = tmp_path / 'kitti'
    shutil.copytree(synthetic_kitti, root)
    label = root / 'training/label_2/000000.txt'
    # a Van (ignored Car), a DontCare (dropped) and a Car out of range (dropped)
    label.write_text('Van 0.00 0 1.42 338.44 83.65 389.07 124.23 1.99 2.01 5.34 2.59 1.79 '
                     '21.12 1.55\n'
                     'DontCare -1 -1 -10 0 0 10 10 -1 -1 -1 -1000 -1000 -1000 -10\n'
                     'Car 0.00 0 -1.75 379.58 94.02 483.39 171.38 1.52 1.73 3.72 2.62 1.68 '
                     '9.31 -1.47\n'
                     'Car 0.00 0 0.10 300 90 310 95 1.5 1.7 4.0 1.0 1.6 40.0 0.3\n')
    frame = load_labelled_frame(root, '000000', RANGE)
    P2, R0, Tr = calib_matrices(root / 'training/calib/000000.txt')

    xyz1 = np.c_[frame.points[:, :3].double().numpy(), np.ones(len(frame.points))]
    uvw = xyz1 @ (P2 @ R0 @ Tr).T
    u, v = uvw[:, 0] / uvw[:, 2], uvw[:, 1] / uvw[:, 2]
    assert len(frame.points) > 1000
    assert (uvw[:, 2] > 0).all() and (u >= 0).all() and (u < 640).all() and (v >= 0).all() and \
        (v < 192).all()
    lo, hi = np.array(RANGE[:3]), np.array(RANGE[3:])
    assert ((xyz1[:, :3] >= lo) & (xyz1[:, :3] < hi)).all()

    assert frame.labels.tolist() == [CLASSES.index('Car')] * 2
    assert frame.ignore.tolist() == [True, False]
    # the Car: gravity centre = bottom centre raised by h/2 along camera -y, mapped to LiDAR
    cam2lidar = np.linalg.inv(R0 @ Tr)
    centre = cam2lidar @ np.array([2.62, 1.68 - 1.52 / 2, 9.31, 1.0])
    car = frame.boxes[1].double().numpy()
    np.testing.assert_allclose(car[:3], centre[:3], atol=1e-4)
    np.testing.assert_allclose(car[3:6], [3.72, 1.73, 1.52], atol=1e-5)     # l, w, h
    # KITTI's convention for level frames: yaw = -ry - pi/2 (up to the calibration's tilt)
    assert abs(math.remainder(car[6] - (1.47 - math.pi / 2), 2 * math.pi)) < 0.02


def test_same_seed_same_run_up_to_the_encoder(synthetic_kitti):
    """The comparison is fair: an encoder given the weights a seed would draw anyway trains
    exactly like the scratch run of that seed (same head init, same frames, same order)."""
    torch.manual_seed(0)
    state = VoxelCenterDetector(VOXEL, RANGE).encoder.state_dict()
    results = compare_transfer(synthetic_kitti, VOXEL, RANGE, {'scratch': None, 'copy': state},
                               seeds=(0,), iters=3, labelled_frames=2, log=lambda *_: None)
    assert results['scratch']['loss'] == results['copy']['loss']
    torch.manual_seed(1)
    other = VoxelCenterDetector(VOXEL, RANGE).encoder.state_dict()
    again = compare_transfer(synthetic_kitti, VOXEL, RANGE, {'other': other}, seeds=(0,),
                             iters=3, labelled_frames=2, log=lambda *_: None)
    assert again['other']['loss'] != results['scratch']['loss']

    table = transfer_table(results).splitlines()
    assert table[0] == '| metric | class | scratch | copy |'
    assert len(table) == 2 + 2 * (len(CLASSES) + 1)
    assert table[2].startswith('| BEV AP R40 | Car |') and table[-1].startswith('| 3D AP R40 | mAP')


def test_detector_learns_the_training_frames(synthetic_kitti):
    frames = load_labelled_frames(synthetic_kitti, 'trainval', RANGE)[:2]
    torch.manual_seed(0)
    detector = VoxelCenterDetector(VOXEL, RANGE)
    losses = finetune(detector, frames, iters=30, batch_size=2, lr=3e-3, seed=0)
    assert np.mean(losses[-5:]) < 0.3 * np.mean(losses[:5]), losses
    ap = detection_ap(detector, frames)
    # fitting two frames: cars are found at KITTI's 0.7 BEV IoU (an untrained head finds none)
    assert ap["bev"]["Car"] > 50, ap


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_finetuning_matches_the_cpu_at_the_start(synthetic_kitti):
    """On CUDA the detector runs spconv's kernels: same initial weights (drawn on the CPU), same
    first losses, and detections come back as CPU tensors for the AP code."""
    kwargs = dict(seeds=(0,), iters=2, labelled_frames=2, log=lambda *_: None)
    cpu = compare_transfer(synthetic_kitti, VOXEL, RANGE, {'scratch': None}, **kwargs)
    gpu = compare_transfer(synthetic_kitti, VOXEL, RANGE, {'scratch': None}, device='cuda',
                           **kwargs)
    # the first loss is before any update; after it, AdamW's normalised steps turn float32
    # differences in near-zero gradients into visible ones
    (first, second), (cpu_first, _) = gpu['scratch']['loss'][0], cpu['scratch']['loss'][0]
    assert first == pytest.approx(cpu_first, rel=1e-3) and second < first   # TF32 head convs
    assert gpu['scratch']['ap'][0].keys() == cpu['scratch']['ap'][0].keys()


def test_mean_and_spread():
    assert mean_and_spread([1.0, 3.0, float('nan')]) == (2.0, math.sqrt(2))
    assert mean_and_spread([5.0]) == (5.0, 0.0)
    assert all(math.isnan(x) for x in mean_and_spread([float('nan')]))


def test_frozen_encoder_keeps_its_weights_and_statistics(synthetic_kitti):
    frames = load_labelled_frames(synthetic_kitti, 'trainval', RANGE)[:2]
    torch.manual_seed(0)
    detector = VoxelCenterDetector(VOXEL, RANGE)
    finetune(detector, frames, iters=1, freeze_encoder=True)    # sets the encoder's BN stats
    encoder = {k: v.clone() for k, v in detector.encoder.state_dict().items()}
    head = {k: v.clone() for k, v in detector.head.state_dict().items()}
    finetune(detector, frames, iters=2, freeze_encoder=True)
    after = detector.encoder.state_dict()
    # the same statistics again (same frames, same weights) and untouched weights
    assert all(torch.allclose(encoder[k].float(), after[k].float(), atol=1e-5) for k in encoder)
    assert any(not torch.equal(head[k], v) for k, v in detector.head.state_dict().items())


def test_encoder_lr_mult_scales_only_the_encoders_steps(synthetic_kitti):
    frames = load_labelled_frames(synthetic_kitti, 'trainval', RANGE)[:2]
    torch.manual_seed(0)
    detector = VoxelCenterDetector(VOXEL, RANGE)
    encoder = {k: v.clone() for k, v in detector.encoder.named_parameters()}
    head = {k: v.clone() for k, v in detector.head.named_parameters()}
    finetune(detector, frames, iters=2, encoder_lr_mult=0.0)
    assert all(torch.equal(encoder[k], v) for k, v in detector.encoder.named_parameters())
    assert any(not torch.equal(head[k], v) for k, v in detector.head.named_parameters())


def test_frozen_encoder_bev_of_each_frame_equals_the_batched_bev(synthetic_kitti):
    # the frozen fine-tuning caches one BEV map per frame and batches them by concatenation
    frames = load_labelled_frames(synthetic_kitti, 'trainval', RANGE)[:3]
    torch.manual_seed(0)
    detector = VoxelCenterDetector(VOXEL, RANGE)
    precise_bn(detector, frames)
    detector.eval()
    with torch.no_grad():
        batched = detector.bev([f.points for f in frames])
        one_by_one = torch.cat([detector.bev([f.points]) for f in frames])
    assert batched.abs().sum() > 0
    assert torch.allclose(one_by_one, batched, atol=1e-5)


def test_paired_gains_subtract_the_same_seeds_scratch_run():
    def runs(*maps):
        return dict(ap=[{'bev': {'mAP': m}} for m in maps])
    results = {'scratch': runs(4.0, 6.0, 5.0), 'SimIPU': runs(5.0, 5.0, 8.0),
               'frozen encoder: scratch': runs(1.0, 1.0, 1.0),
               'frozen encoder: SimIPU': runs(2.0, 3.0, 4.0)}
    # differences +1, -1, +3 (mean 1, std 2) and +1, +2, +3 (mean 2, std 1)
    assert paired_gains(results).splitlines() == [
        'SimIPU - scratch, BEV mAP: +1.0 ± 2.0 (better in 2 of 3 seeds)',
        'frozen encoder: SimIPU - frozen encoder: scratch, BEV mAP: +2.0 ± 1.0 '
        '(better in 3 of 3 seeds)']


def test_scores_on_the_given_held_out_root_and_split(synthetic_kitti):
    lines = []
    compare_transfer(synthetic_kitti, VOXEL, RANGE, {'scratch': None}, seeds=(0,), iters=1,
                     labelled_frames=1, val=(str(synthetic_kitti), 'trainval'), log=lines.append)
    listing = synthetic_kitti / 'ImageSets'
    trainval, val = ((listing / f'{s}.txt').read_text().split() for s in ('trainval', 'val'))
    assert len(trainval) != len(val) and f'evaluating on {len(trainval)} (' in lines[0]
