# Jigsaw puzzles (Noroozi & Favaro 2016): 3x3 tiles, a maximal-Hamming permutation set, a
# classifier over the concatenated tile features in permuted order.
model = dict(
    type='Jigsaw',
    encoder=dict(type='ResNet', depth=18, cifar_stem=False),
    head=dict(type='MLP', hidden_dim=1024),
    num_permutations=100, gap=2, jitter=True,
    data_preprocessor=dict(type='SSLDataPreprocessor'),
)
