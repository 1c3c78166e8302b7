# SimIPU's published recipe on KITTI (Li et al., AAAI 2022): the synthetic config's model, losses
# and hybrid optimisers, with its ResNet-50 image encoder, its random image scale, 4 frames per GPU
# on 8 GPUs and the 50 released epochs. Data: the official KITTI tree under data/kitti, prepared by
#   python data_prep/create_kitti_infos.py --root data/kitti
# (infos + camera-frustum clouds); train with tools/dist_train.sh THIS_CONFIG 8.
_base_ = ['./simipu_voxelnet-r18_1xb2-20e_synthetic-kitti.py']

data_root = 'data/kitti'
model = dict(image_encoder=dict(depth=50))
train_pipeline = [
    dict(type='GlobalAugment'),      # view B: rotation +-90 deg about (35.2, 0, -1), scale, flip
    dict(type='ImageResizeFlip'),    # long / short edge drawn between (640, 192) and (2400, 720)
]
train_dataloader = dict(batch_size=4, num_workers=4,
                        dataset=dict(data_root=data_root, pipeline=train_pipeline))
max_epochs = 50
train_cfg = dict(max_epochs=max_epochs)
