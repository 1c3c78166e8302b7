# Occupancy-MAE (Min et al., IEEE T-IV 2023) on the synthetic KITTI set, on the CPU grid of
# SimIPU's demo (0.1 m voxels over 51.2 m x 64 m), so the encoder fine-tunes in
# benchmarks/transfer_det3d.py and tools/eval.py on the grid it was pretrained on. The data parts
# (set, grid, batch 2, 4 epochs) are that config's; the method's parts are the same in the three
# configs of this folder (mmengine allows no two bases to define one key, so each config takes
# its data from the SimIPU config of the same data and writes the model here).
_base_ = ['../simipu/simipu_voxelnet-r18_1xb2-cpu-demo_synthetic-kitti.py']

max_epochs = 4   # as the SimIPU demo

model = dict(
    _delete_=True, type='OccupancyMAE',
    encoder={{_base_.model.encoder}}, data_preprocessor={{_base_.model.data_preprocessor}},
    decoder=dict(type='OccupancyDecoder', out_stride=4),   # 10 x 160 x 128 cells on this grid
    loss=dict(type='OccupancyLoss', empty_weight=1.0),     # class-balanced BCE
    mask_ratios=(0.9, 0.7, 0.7), range_bounds=(30.0, 50.0))
# every point of the camera-frustum cloud, no image, no second view: masking is the augmentation
train_dataloader = dict(dataset=dict(with_image=False, num_points=None, pipeline=[]))
# the authors' optimiser (OpenPCDet's adam_onecycle): lr 0.003, wd 0.01, lr rising from a tenth
# to its peak over the first 40% of the steps and annealed after; as warm-up + cosine, because
# mmengine's OneCycleLR keeps a bound method in its state, which checkpoints read with
# weights_only (tools/export_backbone.py, tools/eval.py) refuse
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper', clip_grad=dict(max_norm=10.0),
    optimizer=dict(type='AdamW', lr=0.003, betas=(0.9, 0.99), weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=0.4 * max_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=0.6 * max_epochs, by_epoch=True, begin=0.4 * max_epochs,
         end=max_epochs, convert_to_iter_based=True)]
