_base_ = [
    '../_base_/models/byol_resnet18.py',
    '../_base_/datasets/digits.py',
    '../_base_/schedules/sgd_cosine.py',
    '../_base_/default_runtime.py',
]
# BYOL's asymmetric pair: blur always on view 1, rarely on view 2, which may be solarized
view = {{_base_.view}}
model = dict(
    data_preprocessor=dict(augment=dict(type='MultiViewAugment', views=[
        dict(view, num=1, blur_p=1.0),
        dict(view, num=1, blur_p=0.1, solarize_p=0.2)])),
    online_probe=dict(num_classes=10))
