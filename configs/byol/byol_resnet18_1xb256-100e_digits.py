_base_ = [
    '../_base_/models/byol_resnet18.py',
    '../_base_/datasets/digits.py',
    '../_base_/schedules/sgd_cosine.py',
    '../_base_/health.py',
]
model = dict(
    data_preprocessor=dict(augment={{_base_.byol_augment}}),
    online_probe=dict(num_classes=10))
