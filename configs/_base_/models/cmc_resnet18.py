# the paper's L / ab split of Lab, one ResNet-18 per view
model = dict(
    type='CMC',
    encoder=dict(type='ResNet', depth=18, cifar_stem=False),
    neck=dict(type='MLP', hidden_dim=2048, out_dim=128),
    channel_groups=((0,), (1, 2)),
    color_space='lab',
    loss=dict(type='CMCLoss', temperature=0.07),
    data_preprocessor=dict(type='SSLDataPreprocessor'),
)
