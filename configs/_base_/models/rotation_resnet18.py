# RotNet (Gidaris et al. 2018): 4-way rotation classifier on the pooled features.
model = dict(
    type='RotationPrediction',
    encoder=dict(type='ResNet', depth=18, cifar_stem=False),
    head=dict(type='MLP', hidden_dim=512),
    data_preprocessor=dict(type='SSLDataPreprocessor'),
)
