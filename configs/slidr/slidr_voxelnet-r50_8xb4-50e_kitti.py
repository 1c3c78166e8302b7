# SLidR on real KITTI: the data of SimIPU's KITTI recipe (data/kitti, KITTI's grid of
# 0.05 x 0.05 x 0.1 m voxels, 4 frames per GPU on 8 GPUs) with SLidR's 50 epochs; images at
# KITTI's own size, flipped with p = 0.5. The frozen ResNet-50 is SimIPU's, from its KITTI recipe
# (any mm_ssl ResNet-50 checkpoint works). The method block is that of
# slidr_voxelnet-r18_1xb2-cpu-demo_synthetic-kitti.py. Prepare with
#   python data_prep/create_kitti_infos.py --root data/kitti
_base_ = ['../simipu/simipu_voxelnet-r50_8xb4-50e_kitti.py']

head = dict(type='MLP', hidden_dim=64, out_dim=64, num_layers=1)
model = dict(
    _delete_=True, type='SLidR',
    encoder={{_base_.model.encoder}}, data_preprocessor={{_base_.model.data_preprocessor}},
    image_encoder=dict(type='ResNet', depth=50, out_maps=('layer4',)),
    image_checkpoint='work_dirs/simipu_voxelnet-r50_8xb4-50e_kitti/epoch_50.pth',
    point_head=head, image_head=head, point_layer='x_conv4',
    loss=dict(type='SuperpixelInfoNCELoss', temperature=0.07))
train_pipeline = [
    dict(type='ImageResizeFlip', scale_range=(1242, 375), flip=0.5),
    dict(type='SLICSuperpixels', n_segments=150, compactness=6.0, sigma=3.0),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper', clip_grad=dict(max_norm=10.0),
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, dampening=0.1, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max={{_base_.max_epochs}}, by_epoch=True,
                        begin=0, end={{_base_.max_epochs}}, convert_to_iter_based=True)]
