_base_ = [
    '../_base_/models/mocov3_vit-tiny.py',
    '../_base_/datasets/digits.py',
    '../_base_/schedules/sgd_cosine.py',
    '../_base_/health.py',
]
model = dict(data_preprocessor=dict(augment={{_base_.augment}}),
             online_probe=dict(num_classes=10))
# ViTs train with AdamW (MoCo v3: lr 1.5e-4 * B / 256 at batch 4096, weight decay 0.1); a higher
# rate suits this small model and short schedule
optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=5e-4, betas=(0.9, 0.95),
                                    weight_decay=0.1))
