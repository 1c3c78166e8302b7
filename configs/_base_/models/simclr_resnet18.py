model = dict(
    type='SimCLR',
    encoder=dict(type='ResNet', depth=18, cifar_stem=False),
    neck=dict(type='MLP', hidden_dim=2048, out_dim=128),
    loss=dict(type='NTXentLoss', temperature=0.5),
    data_preprocessor=dict(type='SSLDataPreprocessor'),
)
