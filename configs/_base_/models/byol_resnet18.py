model = dict(
    type='BYOL',
    encoder=dict(type='ResNet', depth=18, cifar_stem=False),
    neck=dict(type='MLP', hidden_dim=4096, out_dim=256),
    head=dict(type='MLP', hidden_dim=4096, out_dim=256),
    momentum=0.99,
    data_preprocessor=dict(type='SSLDataPreprocessor'),
)
