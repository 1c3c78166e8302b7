# InstDisc / NPID (Wu et al. 2018): linear 128-d embedding, memory bank with momentum 0.5,
# NCE over 4096 noise entries at temperature 0.07
model = dict(
    type='InstDisc',
    encoder=dict(type='ResNet', depth=18, cifar_stem=False),
    neck=dict(type='MLP', num_layers=1, hidden_dim=None, out_dim=128),  # linear head
    bank_size=50000,  # the number of training samples
    num_negatives=4096,
    bank_momentum=0.5,
    loss=dict(type='NPIDLoss', temperature=0.07, mode='nce'),
    data_preprocessor=dict(type='SSLDataPreprocessor'),
)
