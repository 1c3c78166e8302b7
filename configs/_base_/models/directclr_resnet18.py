# DirectCLR (Jing et al. 2022): no projector, InfoNCE on the first 128 of the 512 dims of the
# ResNet-18 representation (the paper: 360 of ResNet-50's 2048)
model = dict(
    type='SimCLR',
    encoder=dict(type='ResNet', depth=18, cifar_stem=False),
    neck=None,
    loss=dict(type='DirectCLRLoss', dim=128, temperature=0.1),
    data_preprocessor=dict(type='SSLDataPreprocessor'),
)
