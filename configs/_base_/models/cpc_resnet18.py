# 8 px patches at stride 4: a 7x7 grid on 32 px images (CPC v2's grid on 224 px: 64 px / 32)
# the ImageNet stem (stride 4) keeps 49 patches per image affordable
model = dict(
    type='CPC',
    encoder=dict(type='ResNet', depth=18, cifar_stem=False),
    context=dict(type='RowCausalConv', hidden_dim=512, num_layers=3, kernel_rows=3),
    patch_size=8,
    patch_stride=4,
    steps=(2, 3, 4),
    loss=dict(type='CPCLoss', temperature=0.1),  # cosine scores: raw dot products diverge
    data_preprocessor=dict(type='SSLDataPreprocessor'),
)
