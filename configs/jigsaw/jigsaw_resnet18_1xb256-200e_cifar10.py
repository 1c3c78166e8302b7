_base_ = [
    '../_base_/models/jigsaw_resnet18.py',
    '../_base_/datasets/cifar10.py',
    '../_base_/schedules/sgd_cosine_200e.py',
    '../_base_/health.py',
]
model = dict(encoder=dict(cifar_stem=True),
             num_permutations=1000,  # the paper's best set size
             data_preprocessor=dict(augment={{_base_.single_view_augment}}),
             online_probe=dict(num_classes=10))
