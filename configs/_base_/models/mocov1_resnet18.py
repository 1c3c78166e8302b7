# MoCo v1 (He et al. 2020): linear 128-d head, temperature 0.07, one view order
_base_ = './mocov2_resnet18.py'
model = dict(
    neck=dict(_delete_=True, type='MLP', num_layers=1, hidden_dim=None, out_dim=128),
    symmetric=False,
    loss=dict(temperature=0.07),
)
