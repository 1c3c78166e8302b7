_base_ = ['../_base_/datasets/synthetic_kitti.py', '../_base_/default_runtime.py']

mlp = dict(type='MLP', hidden_dim=256, out_dim=128, num_layers=3)   # SimIPU: 3 layers, BN, 128-d
model = dict(
    type='SimIPU',
    encoder=dict(type='VoxelBackBone8x', in_channels=4, voxel_size={{_base_.voxel_size}},
                 point_range={{_base_.point_range}}),
    image_encoder=dict(type='ResNet', depth=18, out_maps=('layer4',)),
    intra_head=mlp, point_cross_head=mlp, image_cross_head=mlp,
    loss=dict(type='SimIPULoss', temperature=0.07),   # intra and cross terms 1:1
    point_layer='x_conv4', num_contrast_points=1024,
    data_preprocessor=dict(type='PointImagePreprocessor', voxel_size={{_base_.voxel_size}},
                           point_range={{_base_.point_range}}))

# the point encoder's conv_out (after x_conv4) gets no gradient: DDP must look for unused parameters
find_unused_parameters = True
max_epochs = 20
# SimIPU's hybrid recipe: AdamW for the point encoder, SGD for the image encoder and the heads
optim_wrapper = dict(
    constructor='ModuleOptimWrapperConstructor',
    encoder=dict(type='OptimWrapper', clip_grad=dict(max_norm=10.0), optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.95, 0.99), weight_decay=0.01)),
    others=dict(type='OptimWrapper', clip_grad=dict(max_norm=10.0), optimizer=dict(
        type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4)))
param_scheduler = [dict(type='ExponentialLR', gamma=0.99, by_epoch=True)]   # SimIPU: 0.99/epoch
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=5))
