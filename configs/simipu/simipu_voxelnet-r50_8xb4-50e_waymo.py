# SimIPU on Waymo converted to KITTI layout (mmdet3d's converter, or data_prep/waymo_to_kitti.py):
# 6-channel clouds of which 5 are used (x, y, z, intensity, elongation; the timestamp dropped),
# the FRONT camera (image_0, P0, Tr_velo_to_cam_0), and OpenPCDet's Waymo grid for
# VoxelBackBone8x (voxel 0.1 x 0.1 x 0.15 m over +-75.2 m, z -2..4 m), so the exported encoder
# loads into its Waymo SECOND / PV-RCNN configs. Prepare with
#   python data_prep/create_kitti_infos.py --root data/waymo_kitti --waymo
_base_ = ['./simipu_voxelnet-r50_8xb4-50e_kitti.py']

data_root = 'data/waymo_kitti'
point_range = (-75.2, -75.2, -2, 75.2, 75.2, 4)
voxel_size = (0.1, 0.1, 0.15)
model = dict(
    encoder=dict(in_channels=5, voxel_size=voxel_size, point_range=point_range),
    data_preprocessor=dict(voxel_size=voxel_size, point_range=point_range))
train_pipeline = [
    # rotate and scale about the middle of the front camera's half of the range, as KITTI's
    # (35.2, 0, -1) is the middle of its range
    dict(type='GlobalAugment', center=(37.6, 0.0, 1.0)),
    dict(type='ImageResizeFlip'),
]
train_dataloader = dict(dataset=dict(
    data_root=data_root, ann_file='waymo_infos_train.pkl', num_point_channels=6, use_channels=5,
    camera=0, point_range=point_range, pipeline=train_pipeline))
