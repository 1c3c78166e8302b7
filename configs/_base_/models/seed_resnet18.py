# SEED (Fang et al. 2021): the student matches the teacher's similarity distribution over a queue
# of teacher embeddings, student temperature 0.2, teacher 0.01. The teacher is any mm_ssl model
# and checkpoint; the dataset configs point it at the SimCLR run of the same dataset.
model = dict(
    type='SEED',
    encoder=dict(type='ResNet', depth=18, cifar_stem=False),
    neck=dict(type='MLP', hidden_dim=2048, out_dim=128),  # out_dim: the teacher embedding's
    teacher=dict(type='SimCLR', encoder=dict(type='ResNet', depth=18, cifar_stem=False),
                 neck=dict(type='MLP', hidden_dim=2048, out_dim=128)),
    teacher_embedding='projector',
    queue_size=4096,
    loss=dict(type='SEEDLoss', student_temperature=0.2, teacher_temperature=0.01),
    data_preprocessor=dict(type='SSLDataPreprocessor'),
)
