_base_ = [
    '../_base_/models/swav_resnet18.py',
    '../_base_/datasets/cifar10.py',
    '../_base_/schedules/sgd_cosine_200e.py',
    '../_base_/health.py',
]
# 195 iterations per epoch: prototypes frozen for 2 epochs; a 3840-sample queue from epoch 50
# keeps 3000 prototypes equipartitioned with batches of 256 (SwAV §4.1: queue for small batches)
model = dict(encoder=dict(cifar_stem=True),  # 3x3 stem, no max-pool for 32 px
             freeze_prototypes_iters=390, queue_size=3840, queue_start_iter=9750,
             data_preprocessor=dict(augment={{_base_.multicrop_augment}}),
             online_probe=dict(num_classes=10))
