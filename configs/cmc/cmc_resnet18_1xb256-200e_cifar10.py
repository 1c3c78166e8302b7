_base_ = [
    '../_base_/models/cmc_resnet18.py',
    '../_base_/datasets/cifar10.py',
    '../_base_/schedules/sgd_cosine_200e.py',
    '../_base_/health.py',
]
# the paper's setup: L and ab of one augmented crop, cropped and flipped only (colour jitter and
# grayscale would rewrite the ab view itself)
model = dict(encoder=dict(cifar_stem=True),  # 3x3 stem, no max-pool for 32 px
             data_preprocessor=dict(augment=dict(type='MultiViewAugment', views=[
                 dict(size=32, scale=(0.08, 1.0), hflip_p=0.5, jitter_p=0.0, gray_p=0.0,
                      blur_p=0.0)])),
             online_probe=dict(num_classes=10))
