_base_ = [
    '../_base_/models/dino_resnet18.py',
    '../_base_/datasets/cifar10.py',
    '../_base_/schedules/sgd_cosine_200e.py',
    '../_base_/health.py',
]
# 195 iterations per epoch: teacher temperature warmed up over 30 epochs, last layer frozen for
# the first epoch
model = dict(encoder=dict(cifar_stem=True),  # 3x3 stem, no max-pool for 32 px
             freeze_last_layer_iters=195, loss=dict(warmup_teacher_temp_iters=5850),
             data_preprocessor=dict(augment={{_base_.multicrop_augment}}),
             online_probe=dict(num_classes=10))
