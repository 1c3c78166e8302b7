# The embedded default for LiDAR + camera pretraining: data_prep/make_synthetic_kitti.py writes a
# KITTI tree here, data_prep/create_kitti_infos.py the infos (tools/demo.py does both if absent).
data_root = 'data/synthetic_kitti'
point_range = (0, -40, -3, 70.4, 40, 1)
voxel_size = (0.05, 0.05, 0.1)
train_pipeline = [
    dict(type='GlobalAugment'),                                  # view B: rotate, scale, BEV flip
    dict(type='ImageResizeFlip', scale_range=(640, 192)),       # fixed scale keeps CPU runs short
]
train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='KittiPointImageDataset', data_root=data_root,
                 ann_file='kitti_infos_train.pkl', point_range=point_range, num_points=16384,
                 pipeline=train_pipeline, on_bad_sample='skip'))
