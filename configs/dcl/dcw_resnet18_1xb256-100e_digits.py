# DCW (Yeh et al. 2022): DCL with von Mises-Fisher weighting of the positive pairs
_base_ = '../simclr/simclr_resnet18_1xb256-100e_digits.py'
model = dict(loss=dict(_delete_=True, type='DCLLoss', temperature=0.1, vmf_sigma=0.5))
