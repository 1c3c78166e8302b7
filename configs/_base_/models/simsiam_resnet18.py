# SimSiam (Chen & He 2021, §3 and appendix): 3-layer projector with BN on every layer, the last
# one affine-free; 2-layer bottleneck predictor (hidden = d/4) without BN on its output.
model = dict(
    type='SimSiam',
    encoder=dict(type='ResNet', depth=18, cifar_stem=False),
    neck=dict(type='MLP', hidden_dim=2048, out_dim=2048, num_layers=3, bn_last=True),
    head=dict(type='MLP', hidden_dim=512, out_dim=2048),
    stop_gradient=True,
    data_preprocessor=dict(type='SSLDataPreprocessor'),
)
