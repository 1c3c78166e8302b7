# SimCLR v2 (Chen et al. 2020b): 3-layer projector with BN, its first layer kept; no memory
model = dict(
    type='SimCLRv2',
    encoder=dict(type='ResNet', depth=18, cifar_stem=False),
    neck=dict(type='MLP', hidden_dim=2048, out_dim=128, num_layers=3, bn_last=True),
    keep_head_layers=1,
    queue_size=0,
    loss=dict(type='NTXentLoss', temperature=0.5),
    data_preprocessor=dict(type='SSLDataPreprocessor'),
)
