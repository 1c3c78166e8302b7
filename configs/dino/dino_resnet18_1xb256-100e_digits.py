_base_ = [
    '../_base_/models/dino_resnet18.py',
    '../_base_/datasets/digits.py',
    '../_base_/schedules/sgd_cosine.py',
    '../_base_/health.py',
]
# 5 iterations per epoch: teacher temperature warmed up over 30 epochs as in the paper, last
# layer frozen for the first epoch; a shorter run needs a faster teacher (momentum 0.99)
model = dict(head=dict(out_dim=1024), momentum=0.99, freeze_last_layer_iters=5,
             loss=dict(warmup_teacher_temp_iters=150),
             data_preprocessor=dict(augment={{_base_.multicrop_augment}}),
             online_probe=dict(num_classes=10))
