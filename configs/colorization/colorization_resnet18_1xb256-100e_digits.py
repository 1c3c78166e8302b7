_base_ = [
    '../_base_/models/colorization_resnet18.py',
    '../_base_/datasets/digits.py',
    '../_base_/schedules/sgd_cosine.py',
    '../_base_/health.py',
]
# digits carry no colour: every pixel is in the neutral bin, so the task is trivial on them
model = dict(data_preprocessor=dict(augment={{_base_.single_view_augment}}),
             online_probe=dict(num_classes=10))
