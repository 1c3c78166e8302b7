import torch
import torch.nn.functional as F

from mm_ssl.models.heads import LinearClsHead


def linear_probe(train_feats: torch.Tensor, train_labels: torch.Tensor, test_feats: torch.Tensor,
                 test_labels: torch.Tensor, num_classes: int, epochs: int = 100,
                 batch_size: int = 256, lr: float = 0.1, weight_decay: float = 0.0,
                 seed: int = 0) -> float:
    """Linear probe: a :class:`LinearClsHead` trained with SGD + cosine lr on frozen, precomputed
    features (extracted once with the encoder in eval mode, so its BN statistics are not touched).
    Returns the test top-1 accuracy (%); the same for features scaled by any factor.

    Shape:
        - train_feats: (N, D); train_labels: (N,); test_feats: (M, D); test_labels: (M,).
    """
    # one scale for all features, so that BatchNorm's eps (1e-5) stays negligible beside their
    # variance: features of tiny variance (changes between nearly equal features) would
    # otherwise reach the classifier shrunk and train it as at a smaller learning rate
    scale = train_feats.float().pow(2).mean().sqrt().clamp_min(1e-30)
    train_feats, test_feats = train_feats / scale, test_feats / scale
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):   # seeded init without touching the caller's RNG
        torch.manual_seed(seed)
        head = LinearClsHead(train_feats.shape[1], num_classes).to(train_feats.device)
    opt = torch.optim.SGD(head.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    steps_per_epoch = -(-len(train_feats) // batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * steps_per_epoch)
    head.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(train_feats), generator=gen).split(batch_size):
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            idx = idx.to(train_feats.device)
            loss = F.cross_entropy(head(train_feats[idx]), train_labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    head.eval()
    with torch.no_grad():
        pred = head(test_feats).argmax(dim=1)
    return (pred == test_labels).float().mean().item() * 100
