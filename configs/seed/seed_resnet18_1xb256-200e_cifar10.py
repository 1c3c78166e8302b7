_base_ = [
    '../_base_/models/seed_resnet18.py',
    '../_base_/datasets/cifar10.py',
    '../_base_/schedules/sgd_cosine_200e.py',
    '../_base_/health.py',
]
# the teacher: train configs/simclr/simclr_resnet18_1xb256-200e_cifar10.py first (any mm_ssl model
# config + checkpoint works; a bigger teacher distils into this ResNet-18)
model = dict(encoder=dict(cifar_stem=True),  # 3x3 stem, no max-pool for 32 px
             teacher=dict(encoder=dict(cifar_stem=True)),
             data_preprocessor=dict(augment={{_base_.single_view_augment}}),
             online_probe=dict(num_classes=10),
             teacher_checkpoint='work_dirs/simclr_resnet18_1xb256-200e_cifar10/epoch_200.pth')
