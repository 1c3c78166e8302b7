# Context encoder (Pathak et al. 2016): central quarter of the area dropped, decoded back from
# the pooled features, L2 on the dropped pixels.
model = dict(
    type='ContextEncoder',
    encoder=dict(type='ResNet', depth=18, cifar_stem=False),
    head=dict(type='ConvDecoder', out_channels=3, out_size=32, width=256),
    mask_fraction=0.5, random_region=False,
    data_preprocessor=dict(type='SSLDataPreprocessor'),
)
