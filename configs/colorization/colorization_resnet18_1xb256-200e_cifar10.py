_base_ = [
    '../_base_/models/colorization_resnet18.py',
    '../_base_/datasets/cifar10.py',
    '../_base_/schedules/sgd_cosine_200e.py',
    '../_base_/health.py',
]
model = dict(encoder=dict(cifar_stem=True),
             data_preprocessor=dict(augment={{_base_.single_view_augment}}),
             online_probe=dict(num_classes=10))
