import torch
import torch.nn.functional as F


@torch.no_grad()
def knn_predict(train_feats: torch.Tensor, train_labels: torch.Tensor, test_feats: torch.Tensor,
                num_classes: int, k: int = 200, temperature: float = 0.07,
                chunk_size: int = 1024) -> torch.Tensor:
    r"""Weighted kNN classifier (InstDisc, Wu et al. 2018 §3.4; as in lightly and MoCo's CIFAR
    demo): each of the ``k`` nearest training samples by cosine similarity :math:`s_i` votes for
    its class with weight :math:`\exp(s_i/\tau)`; the class with the largest total wins.

    Shape:
        - train_feats: (N, D); train_labels: (N,) int64; test_feats: (M, D).
        - output: (M,) predicted labels.

    Example:
        >>> pred = knn_predict(bank, bank_labels, queries, num_classes=10)
    """
    train_feats = F.normalize(train_feats.float(), dim=1)
    k = min(k, len(train_feats))
    preds = []
    for queries in F.normalize(test_feats.float(), dim=1).split(chunk_size):
        sim, idx = (queries @ train_feats.T).topk(k, dim=1)             # (m, k)
        votes = torch.zeros(len(queries), num_classes, device=queries.device)
        votes.scatter_add_(1, train_labels[idx], (sim / temperature).exp())
        preds.append(votes.argmax(dim=1))
    return torch.cat(preds)


def knn_accuracy(train_feats, train_labels, test_feats, test_labels, num_classes: int,
                 k: int = 200, temperature: float = 0.07) -> float:
    """Top-1 accuracy (%) of :func:`knn_predict`."""
    pred = knn_predict(train_feats, train_labels, test_feats, num_classes, k, temperature)
    return (pred == test_labels.to(pred.device)).float().mean().item() * 100
