# MoCo v3 (Chen, Xie & He 2021) with a small ViT for 32 px inputs: 3-layer projector and 2-layer
# predictor with BN (affine-free BN after the projector), temperature 0.2, frozen patch projection
model = dict(
    type='MoCoV3',
    encoder=dict(type='ViT', image_size=32, patch_size=4, dim=192, depth=6, heads=3, mlp_dim=768,
                 freeze_patch_embed=True),
    neck=dict(type='MLP', hidden_dim=2048, out_dim=256, num_layers=3, bn_last=True),
    head=dict(type='MLP', hidden_dim=2048, out_dim=256, num_layers=2),
    momentum=0.99,
    loss=dict(type='InfoNCELoss', temperature=0.2),
    data_preprocessor=dict(type='SSLDataPreprocessor'),
)
