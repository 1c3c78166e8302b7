# The video configs' schedule: 30 epochs, 2 of linear warm-up, cosine decay.
_base_ = ['./sgd_cosine.py']

max_epochs = 30
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10**6)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=2, end=max_epochs,
         convert_to_iter_based=True),
]
