_base_ = [
    '../_base_/models/cpc_resnet18.py',
    '../_base_/datasets/digits.py',
    '../_base_/schedules/sgd_cosine.py',
    '../_base_/health.py',
]
# A ResNet-18 costs the same per patch at 8 px as at 16 px (its deep layers run at 1x1), so the
# 7x7 grid is ~9x SimCLR's cost on digits; a 3x3 grid of 16 px patches is ~3x. With 3 rows only
# steps 1 and 2 exist; step 1 shares half its pixels with the context's row, an easier task.
# One augmented view (num defaults to 1): the prediction task is within the image.
model = dict(patch_size=16, patch_stride=8, steps=(1, 2),
             data_preprocessor=dict(augment=dict(type='MultiViewAugment',
                                                 views=[{{_base_.view}}])),
             online_probe=dict(num_classes=10))
