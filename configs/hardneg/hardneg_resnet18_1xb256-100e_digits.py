# SimCLR whose loss keeps only the negatives above the median similarity of each anchor
# (Wang & Liu 2021)
_base_ = '../simclr/simclr_resnet18_1xb256-100e_digits.py'
model = dict(loss=dict(_delete_=True, type='HardNegativeNTXentLoss', temperature=0.2, quantile=0.5))
