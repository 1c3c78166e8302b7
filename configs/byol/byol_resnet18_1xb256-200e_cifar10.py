_base_ = [
    '../_base_/models/byol_resnet18.py',
    '../_base_/datasets/cifar10.py',
    '../_base_/schedules/sgd_cosine.py',
    '../_base_/default_runtime.py',
]
model = dict(encoder=dict(cifar_stem=True),  # 3x3 stem, no max-pool for 32 px
             
    data_preprocessor=dict(augment={{_base_.byol_augment}}),
    online_probe=dict(num_classes=10),
    momentum=0.996)
max_epochs = 200
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=10, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
