# The CIFAR variant of the paper (appendix D): 2-layer projector, wd 5e-4, 3x3 stem.
_base_ = [
    '../_base_/models/simsiam_resnet18.py',
    '../_base_/datasets/cifar10.py',
    '../_base_/schedules/sgd_cosine_200e.py',
    '../_base_/health.py',
]
model = dict(encoder=dict(cifar_stem=True),
             neck=dict(num_layers=2),
             data_preprocessor=dict(augment={{_base_.augment}}),
             online_probe=dict(num_classes=10))
