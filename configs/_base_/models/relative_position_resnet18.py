# Context prediction (Doersch et al. 2015): 3x3 tiles with a gap and random jitter, 8-way
# classifier on the concatenated centre / neighbour features.
model = dict(
    type='RelativePosition',
    encoder=dict(type='ResNet', depth=18, cifar_stem=False),
    head=dict(type='MLP', hidden_dim=1024),
    gap=2, jitter=True,
    data_preprocessor=dict(type='SSLDataPreprocessor'),
)
