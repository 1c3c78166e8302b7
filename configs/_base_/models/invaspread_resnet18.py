# InvaSpread (Ye et al. 2019): linear 128-d embedding, temperature 0.1
model = dict(
    type='InvaSpread',
    encoder=dict(type='ResNet', depth=18, cifar_stem=False),
    neck=dict(type='MLP', num_layers=1, hidden_dim=None, out_dim=128),  # linear head
    loss=dict(type='InvaSpreadLoss', temperature=0.1),
    data_preprocessor=dict(type='SSLDataPreprocessor'),
)
