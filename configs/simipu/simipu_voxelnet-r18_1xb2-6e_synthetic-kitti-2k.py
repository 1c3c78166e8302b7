# The demo's grid and recipe on 1,960 unlabelled synthetic frames (27x the demo's 72) for 6 epochs
# (5,880 steps, 7 min on one H100): the pretraining with which SimIPU beats scratch under full
# fine-tuning in benchmarks/README.md. Data (about 4 min with 16 processes, 5 GB):
#   python data_prep/make_synthetic_kitti.py --out data/synthetic_kitti_2k --frames 2000 \
#       --seed 11 --val-fraction 0.02 --workers 16
#   python data_prep/create_kitti_infos.py --root data/synthetic_kitti_2k --workers 16
_base_ = ['./simipu_voxelnet-r18_1xb2-cpu-demo_synthetic-kitti.py']

data_root = 'data/synthetic_kitti_2k'
train_dataloader = dict(num_workers=8, dataset=dict(data_root=data_root))
max_epochs = 6
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=100))
