_base_ = [
    '../_base_/models/cpc_resnet18.py',
    '../_base_/datasets/cifar10.py',
    '../_base_/schedules/sgd_cosine_200e.py',
    '../_base_/health.py',
]
# one augmented view (num defaults to 1): the prediction task is within the image
model = dict(data_preprocessor=dict(augment=dict(type='MultiViewAugment',
                                                 views=[{{_base_.view}}])),
             online_probe=dict(num_classes=10))
