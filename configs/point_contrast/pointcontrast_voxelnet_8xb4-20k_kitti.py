# PointContrast (Xie et al., ECCV 2020) on real KITTI, LiDAR only: the data of SimIPU's KITTI
# recipe (configs/simipu/simipu_voxelnet-r50_8xb4-50e_kitti.py: data/kitti camera-frustum clouds,
# KITTI's grid, 16,384 points, view B rotated / scaled / flipped) read without the image, and
# PointContrast's recipe: 32 frames per step (8 GPUs x 4), SGD lr 0.1, momentum 0.8, wd 1e-4,
# x0.99 every 250 steps, 20k steps (its ScanNet run; 172 epochs of KITTI's 3712 frames).
# Prepare with python data_prep/create_kitti_infos.py --root data/kitti; train with
# tools/dist_train.sh THIS_CONFIG 8.
_base_ = ['../simipu/simipu_voxelnet-r50_8xb4-50e_kitti.py']

model = dict(
    _delete_=True, type='PointContrast',
    encoder={{_base_.model.encoder}}, data_preprocessor={{_base_.model.data_preprocessor}},
    head=dict(type='MLP', num_layers=1, hidden_dim=None, out_dim=32),
    loss=dict(type='PointInfoNCELoss', num_pairs=4096, temperature=0.4),
    point_layer='x_conv4')
train_dataloader = dict(dataset=dict(with_image=False, pipeline=[dict(type='GlobalAugment')]))
optim_wrapper = dict(_delete_=True, type='OptimWrapper', clip_grad=dict(max_norm=10.0),
                     optimizer=dict(type='SGD', lr=0.1, momentum=0.8, weight_decay=1e-4))
param_scheduler = [dict(type='ExponentialLR', gamma=0.99 ** (1 / 250), by_epoch=False)]
max_epochs = 172
train_cfg = dict(max_epochs=max_epochs)
