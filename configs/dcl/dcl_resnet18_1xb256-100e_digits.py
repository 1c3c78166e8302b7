# DCL (Yeh et al. 2022): SimCLR with the positive left out of the denominator
_base_ = '../simclr/simclr_resnet18_1xb256-100e_digits.py'
model = dict(loss=dict(_delete_=True, type='DCLLoss', temperature=0.1))
