# PointContrast on Waymo in KITTI layout: the data of SimIPU's Waymo recipe
# (configs/simipu/simipu_voxelnet-r50_8xb4-50e_waymo.py: 5 of the 6 point channels, OpenPCDet's
# Waymo grid, the front camera's clouds) read without the image, with PointContrast's recipe as
# in pointcontrast_voxelnet_8xb4-20k_kitti.py; 20k steps are 4 epochs of Waymo's ~158k training
# frames. Prepare with python data_prep/create_kitti_infos.py --root data/waymo_kitti --waymo.
_base_ = ['../simipu/simipu_voxelnet-r50_8xb4-50e_waymo.py']

model = dict(
    _delete_=True, type='PointContrast',
    encoder={{_base_.model.encoder}}, data_preprocessor={{_base_.model.data_preprocessor}},
    head=dict(type='MLP', num_layers=1, hidden_dim=None, out_dim=32),
    loss=dict(type='PointInfoNCELoss', num_pairs=4096, temperature=0.4),
    point_layer='x_conv4')
# SimIPU's Waymo view B (rotation and scaling about the middle of the front half of the range)
train_dataloader = dict(dataset=dict(
    with_image=False, pipeline=[dict(type='GlobalAugment', center=(37.6, 0.0, 1.0))]))
optim_wrapper = dict(_delete_=True, type='OptimWrapper', clip_grad=dict(max_norm=10.0),
                     optimizer=dict(type='SGD', lr=0.1, momentum=0.8, weight_decay=1e-4))
param_scheduler = [dict(type='ExponentialLR', gamma=0.99 ** (1 / 250), by_epoch=False)]
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs)
