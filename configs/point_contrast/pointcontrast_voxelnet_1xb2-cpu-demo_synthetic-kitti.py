# PointContrast (Xie et al., ECCV 2020) on the synthetic KITTI set, LiDAR only, on the CPU grid of
# configs/simipu/simipu_voxelnet-r18_1xb2-cpu-demo_synthetic-kitti.py (0.1 m voxels over
# 51.2 m x 64 m; pretraining and fine-tuning must share one voxel size) and SimIPU's two views
# read without the image. Optimiser: PointContrast's (SGD, lr 0.1, momentum 0.8, wd 1e-4,
# x0.99 every 250 steps).
_base_ = ['../_base_/datasets/synthetic_kitti.py', '../_base_/default_runtime.py']

point_range = (0, -32, -3, 51.2, 32, 1)
voxel_size = (0.1, 0.1, 0.1)
model = dict(
    type='PointContrast',
    encoder=dict(type='VoxelBackBone8x', in_channels=4, voxel_size=voxel_size,
                 point_range=point_range),
    # PointContrast's U-Net ends in a 1x1 convolution to 32 channels: a per-point linear head
    head=dict(type='MLP', num_layers=1, hidden_dim=None, out_dim=32),
    loss=dict(type='PointInfoNCELoss', num_pairs=4096, temperature=0.4),
    point_layer='x_conv4',
    data_preprocessor=dict(type='PointImagePreprocessor', voxel_size=voxel_size,
                           point_range=point_range))
train_dataloader = dict(dataset=dict(point_range=point_range, with_image=False,
                                     pipeline=[dict(type='GlobalAugment')]))

# the point encoder's conv_out (after x_conv4) gets no gradient: DDP must look for unused parameters
find_unused_parameters = True
optim_wrapper = dict(type='OptimWrapper', clip_grad=dict(max_norm=10.0), optimizer=dict(
    type='SGD', lr=0.1, momentum=0.8, weight_decay=1e-4))
param_scheduler = [dict(type='ExponentialLR', gamma=0.99 ** (1 / 250), by_epoch=False)]
max_epochs = 4
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=1, max_keep_ckpts=2))
