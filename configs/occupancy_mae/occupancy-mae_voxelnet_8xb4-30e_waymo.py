# Occupancy-MAE on Waymo in KITTI layout: the data of SimIPU's Waymo recipe (5 of the 6 point
# channels, OpenPCDet's Waymo grid of 0.1 x 0.1 x 0.15 m voxels over +-75.2 m) with the authors'
# 30 epochs, on the whole 360-degree sweep (velodyne/): no camera is needed. The method block is
# that of occupancy-mae_voxelnet_1xb2-cpu-demo_synthetic-kitti.py. Prepare with
#   python data_prep/create_kitti_infos.py --root data/waymo_kitti --waymo
_base_ = ['../simipu/simipu_voxelnet-r50_8xb4-50e_waymo.py']

max_epochs = 30
model = dict(
    _delete_=True, type='OccupancyMAE',
    encoder={{_base_.model.encoder}}, data_preprocessor={{_base_.model.data_preprocessor}},
    decoder=dict(type='OccupancyDecoder', out_stride=4),   # 10 x 376 x 376 cells
    loss=dict(type='OccupancyLoss', empty_weight=1.0),
    mask_ratios=(0.9, 0.7, 0.7), range_bounds=(30.0, 50.0))
train_dataloader = dict(dataset=dict(with_image=False, reduced=False, num_points=None, pipeline=[]))
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper', clip_grad=dict(max_norm=10.0),
    optimizer=dict(type='AdamW', lr=0.003, betas=(0.9, 0.99), weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=0.4 * max_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=0.6 * max_epochs, by_epoch=True, begin=0.4 * max_epochs,
         end=max_epochs, convert_to_iter_based=True)]
train_cfg = dict(max_epochs=max_epochs)
