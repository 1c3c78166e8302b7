model = dict(
    type='SwAV',
    encoder=dict(type='ResNet', depth=18, cifar_stem=False),
    neck=dict(type='MLP', hidden_dim=2048, out_dim=128),
    num_prototypes=3000,
    num_global_crops=2,
    queue_size=0,
    freeze_prototypes_iters=0,
    loss=dict(type='SwAVLoss', temperature=0.1, epsilon=0.05, iterations=3),
    data_preprocessor=dict(type='SSLDataPreprocessor'),
)
