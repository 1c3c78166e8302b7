# DepthContrast (Zhang et al., ICCV 2021), voxel branch, on the synthetic KITTI set, LiDAR only,
# on the CPU grid of configs/simipu/simipu_voxelnet-r18_1xb2-cpu-demo_synthetic-kitti.py (0.1 m
# voxels over 51.2 m x 64 m) and SimIPU's two views read without the image. DepthContrast's
# LiDAR settings except the queue and the learning rate, which follow the set and the batch.
_base_ = ['../_base_/datasets/synthetic_kitti.py', '../_base_/default_runtime.py']

point_range = (0, -32, -3, 51.2, 32, 1)
voxel_size = (0.1, 0.1, 0.1)
model = dict(
    type='DepthContrast',
    encoder=dict(type='VoxelBackBone8x', in_channels=4, voxel_size=voxel_size,
                 point_range=point_range),
    # DepthContrast's head: 128 -> 128 -> 128 -> 128, ReLU between, no BN
    neck=dict(type='MLP', num_layers=3, hidden_dim=128, out_dim=128, hidden_bn=False),
    loss=dict(type='InfoNCELoss', temperature=0.1),
    # the queue holds fewer keys than the 72 training frames, so that it rarely holds an older
    # key of the query's own frame as a negative (DepthContrast: 65536 on far larger sets)
    queue_size=32,
    momentum=0.999,
    data_preprocessor=dict(type='PointImagePreprocessor', voxel_size=voxel_size,
                           point_range=point_range))
train_dataloader = dict(dataset=dict(point_range=point_range, with_image=False,
                                     pipeline=[dict(type='GlobalAugment')]))

max_epochs = 4
# DepthContrast's optimiser (SGD, momentum 0.9, wd 1e-4, cosine to 1/1000 of the base lr),
# its lr of 0.12 for 32 frames per GPU scaled to 2 frames
optim_wrapper = dict(type='OptimWrapper', clip_grad=dict(max_norm=10.0), optimizer=dict(
    type='SGD', lr=0.12 * 2 / 32, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.12 * 2 / 32e3,
                        by_epoch=True, convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=1, max_keep_ckpts=2))
