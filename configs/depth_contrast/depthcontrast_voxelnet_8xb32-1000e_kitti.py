# DepthContrast (Zhang et al., ICCV 2021), voxel branch, on real KITTI, LiDAR only: the data of
# SimIPU's KITTI recipe (configs/simipu/simipu_voxelnet-r50_8xb4-50e_kitti.py: data/kitti
# camera-frustum clouds, KITTI's grid, 16,384 points, view B rotated / scaled / flipped) read
# without the image, and DepthContrast's LiDAR template: 32 frames per GPU on 8 GPUs, SGD lr 0.12,
# momentum 0.9, wd 1e-4, cosine to 1.2e-4, 1000 epochs (14.5k steps on KITTI's 3712 frames),
# τ = 0.1, momentum 0.999, 3-layer 128-d head without BN. Prepare with
# python data_prep/create_kitti_infos.py --root data/kitti; train with
# tools/dist_train.sh THIS_CONFIG 8.
_base_ = ['../simipu/simipu_voxelnet-r50_8xb4-50e_kitti.py']

model = dict(
    _delete_=True, type='DepthContrast',
    encoder={{_base_.model.encoder}}, data_preprocessor={{_base_.model.data_preprocessor}},
    neck=dict(type='MLP', num_layers=3, hidden_dim=128, out_dim=128, hidden_bn=False),
    loss=dict(type='InfoNCELoss', temperature=0.1),
    # DepthContrast queues 65536 keys; KITTI has 3712 frames: a queue longer than an epoch
    # (14.5 steps of 256 keys) would hold older keys of the query's own frame as negatives
    queue_size=2048,
    momentum=0.999)
train_dataloader = dict(batch_size=32,
                        dataset=dict(with_image=False, pipeline=[dict(type='GlobalAugment')]))
# every encoder layer, conv_out included, feeds the pooled frame feature
find_unused_parameters = False
max_epochs = 1000
optim_wrapper = dict(_delete_=True, type='OptimWrapper', clip_grad=dict(max_norm=10.0),
                     optimizer=dict(type='SGD', lr=0.12, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1.2e-4,
                        by_epoch=True, convert_to_iter_based=True)]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(checkpoint=dict(interval=50))
