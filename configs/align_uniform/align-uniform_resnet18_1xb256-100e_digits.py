# SimCLR trained on alignment + uniformity (Wang & Isola 2020) instead of NT-Xent
_base_ = '../simclr/simclr_resnet18_1xb256-100e_digits.py'
model = dict(loss=dict(_delete_=True, type='AlignUniformLoss', alpha=2, t=2, uniformity_weight=1))
