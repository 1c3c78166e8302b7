model = dict(
    type='MoCo',
    encoder=dict(type='ResNet', depth=18, cifar_stem=False),
    neck=dict(type='MLP', hidden_dim=2048, out_dim=128),
    queue_size=4096,
    momentum=0.99,
    symmetric=True,
    loss=dict(type='InfoNCELoss', temperature=0.2),
    data_preprocessor=dict(type='SSLDataPreprocessor'),
)
