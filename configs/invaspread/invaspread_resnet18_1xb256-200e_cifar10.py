_base_ = [
    '../_base_/models/invaspread_resnet18.py',
    '../_base_/datasets/cifar10.py',
    '../_base_/schedules/sgd_cosine_200e.py',
    '../_base_/health.py',
]
model = dict(encoder=dict(cifar_stem=True),  # 3x3 stem, no max-pool for 32 px
             data_preprocessor=dict(augment={{_base_.augment}}),
             online_probe=dict(num_classes=10))
