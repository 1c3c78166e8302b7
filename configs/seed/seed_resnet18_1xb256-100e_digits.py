_base_ = [
    '../_base_/models/seed_resnet18.py',
    '../_base_/datasets/digits.py',
    '../_base_/schedules/sgd_cosine.py',
    '../_base_/health.py',
]
# the teacher: train configs/simclr/simclr_resnet18_1xb256-100e_digits.py first (any mm_ssl model
# config + checkpoint works; a bigger teacher distils into this ResNet-18)
model = dict(data_preprocessor=dict(augment={{_base_.single_view_augment}}),
             online_probe=dict(num_classes=10),
             teacher_checkpoint='work_dirs/simclr_resnet18_1xb256-100e_digits/epoch_100.pth')
