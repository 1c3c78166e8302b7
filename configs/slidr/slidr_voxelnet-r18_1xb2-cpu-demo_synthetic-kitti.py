# SLidR (Sautier et al., CVPR 2022) on the synthetic KITTI set, on the CPU grid of SimIPU's demo
# (0.1 m voxels over 51.2 m x 64 m), so the encoder fine-tunes in benchmarks/transfer_det3d.py and
# tools/eval.py on the grid it was pretrained on. The data parts (set, grid, batch 2, 4 epochs) are
# that config's; the method's parts are the same in the three configs of this folder (mmengine
# allows no two bases to define one key, so each config takes its data from the SimIPU config of
# the same data and writes the model here).
#
# The frozen image encoder is SimIPU's ResNet-18, from a run of the SimIPU demo config:
#   python tools/train.py configs/simipu/simipu_voxelnet-r18_1xb2-cpu-demo_synthetic-kitti.py
# (make demo's is work_dirs/demo/simipu/epoch_4.pth). Any mm_ssl checkpoint of a ResNet-18
# works: SimIPU's image_encoder.* or an image method's encoder.*.
_base_ = ['../simipu/simipu_voxelnet-r18_1xb2-cpu-demo_synthetic-kitti.py']

head = dict(type='MLP', hidden_dim=64, out_dim=64, num_layers=1)   # SLidR: linear, 64-d
model = dict(
    _delete_=True, type='SLidR',
    encoder={{_base_.model.encoder}}, data_preprocessor={{_base_.model.data_preprocessor}},
    image_encoder=dict(type='ResNet', depth=18, out_maps=('layer4',)),
    image_checkpoint='work_dirs/simipu_voxelnet-r18_1xb2-cpu-demo_synthetic-kitti/epoch_4.pth',
    point_head=head, image_head=head, point_layer='x_conv4',
    loss=dict(type='SuperpixelInfoNCELoss', temperature=0.07))
train_pipeline = [
    dict(type='ImageResizeFlip', scale_range=(640, 192), flip=0.5),
    dict(type='SLICSuperpixels', n_segments=150, compactness=6.0, sigma=3.0),   # after the flip
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# SLidR's optimiser: SGD lr 0.01, momentum 0.9, dampening 0.1, wd 1e-4, cosine over the epochs
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper', clip_grad=dict(max_norm=10.0),
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, dampening=0.1, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max={{_base_.max_epochs}}, by_epoch=True,
                        begin=0, end={{_base_.max_epochs}}, convert_to_iter_based=True)]
