# SimIPU on a grid small enough for a CPU: the demo's pretraining and the grid of
# benchmarks/transfer_det3d.py. 0.1 m voxels over 51.2 m x 64 m ahead of the car (KITTI's grid is
# 0.05 x 0.05 x 0.1 m over 70.4 m x 80 m: ~8x the BEV cells). Sparse convs are translation
# equivariant, so the same layer list runs on either grid, but pretraining and fine-tuning must
# share one voxel size for the weights to mean the same thing.
_base_ = ['./simipu_voxelnet-r18_1xb2-20e_synthetic-kitti.py']

point_range = (0, -32, -3, 51.2, 32, 1)
voxel_size = (0.1, 0.1, 0.1)
model = dict(
    encoder=dict(voxel_size=voxel_size, point_range=point_range),
    data_preprocessor=dict(voxel_size=voxel_size, point_range=point_range))
train_dataloader = dict(dataset=dict(point_range=point_range))
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=1, max_keep_ckpts=2))
