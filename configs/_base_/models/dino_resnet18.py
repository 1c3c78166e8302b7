model = dict(
    type='DINO',
    encoder=dict(type='ResNet', depth=18, cifar_stem=False),
    head=dict(type='DINOHead', out_dim=4096, hidden_dim=2048, bottleneck_dim=256),
    num_global_crops=2,
    momentum=0.996,
    loss=dict(type='DINOLoss', student_temp=0.1, teacher_temp=0.07, warmup_teacher_temp=0.04,
              center_momentum=0.9),
    data_preprocessor=dict(type='SSLDataPreprocessor'),
)
