_base_ = [
    '../_base_/models/cmc_resnet18.py',
    '../_base_/datasets/digits.py',
    '../_base_/schedules/sgd_cosine.py',
    '../_base_/health.py',
]
# digits are grey: their ab channels are constant and carry nothing to contrast, so the two
# views are the L channel of two different crops, each with its own encoder
model = dict(channel_groups=((0,), (0,)),
             data_preprocessor=dict(augment={{_base_.augment}}),
             online_probe=dict(num_classes=10))
