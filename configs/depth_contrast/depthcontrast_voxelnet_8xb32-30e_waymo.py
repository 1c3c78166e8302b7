# DepthContrast, voxel branch, on Waymo in KITTI layout: the data of SimIPU's Waymo recipe
# (configs/simipu/simipu_voxelnet-r50_8xb4-50e_waymo.py: 5 of the 6 point channels, OpenPCDet's
# Waymo grid) read without the image, with DepthContrast's LiDAR template as in
# depthcontrast_voxelnet_8xb32-1000e_kitti.py and its 65536-key queue. The template's 1000
# epochs would be 620k steps on Waymo's ~158k training frames; 30 epochs (18.5k steps, close to
# the KITTI recipe's 14.5k) is this suite's choice, not the paper's. Prepare with
# python data_prep/create_kitti_infos.py --root data/waymo_kitti --waymo.
_base_ = ['../simipu/simipu_voxelnet-r50_8xb4-50e_waymo.py']

model = dict(
    _delete_=True, type='DepthContrast',
    encoder={{_base_.model.encoder}}, data_preprocessor={{_base_.model.data_preprocessor}},
    neck=dict(type='MLP', num_layers=3, hidden_dim=128, out_dim=128, hidden_bn=False),
    loss=dict(type='InfoNCELoss', temperature=0.1),
    queue_size=65536,
    momentum=0.999)
# SimIPU's Waymo view B (rotation and scaling about the middle of the front half of the range)
train_dataloader = dict(batch_size=32, dataset=dict(
    with_image=False, pipeline=[dict(type='GlobalAugment', center=(37.6, 0.0, 1.0))]))
find_unused_parameters = False
max_epochs = 30
optim_wrapper = dict(_delete_=True, type='OptimWrapper', clip_grad=dict(max_norm=10.0),
                     optimizer=dict(type='SGD', lr=0.12, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1.2e-4,
                        by_epoch=True, convert_to_iter_based=True)]
train_cfg = dict(max_epochs=max_epochs)
