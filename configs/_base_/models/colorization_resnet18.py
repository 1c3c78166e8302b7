# Colorization (Zhang et al. 2016): L in, a*b* bins of 10 out (22x22 grid over [-110, 110)^2),
# predicted per location of the last stage (4x4 at 32 px with the 3x3 stem) and upsampled.
model = dict(
    type='Colorization',
    encoder=dict(type='ResNet', depth=18, cifar_stem=True, in_channels=1, out_maps=('layer4',)),
    head=dict(type='DenseClsHead', hidden_dim=256),
    feature_map='layer4', bin_size=10.0, ab_max=110.0,
    data_preprocessor=dict(type='SSLDataPreprocessor'),
)
