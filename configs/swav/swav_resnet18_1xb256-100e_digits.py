_base_ = [
    '../_base_/models/swav_resnet18.py',
    '../_base_/datasets/digits.py',
    '../_base_/schedules/sgd_cosine.py',
    '../_base_/health.py',
]
# 5 iterations per epoch: prototypes frozen for the first epoch; 100 prototypes for 10 digits
# (a batch of 256 spreads evenly over them without a queue)
model = dict(num_prototypes=100, freeze_prototypes_iters=5,
             data_preprocessor=dict(augment={{_base_.multicrop_augment}}),
             online_probe=dict(num_classes=10))
