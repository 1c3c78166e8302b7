"""SwAV's online clustering: Sinkhorn-Knopp codes and the swapped prediction loss."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mm_ssl.ops.dist import all_reduce, world_info
from mm_ssl.registry import MODELS


@torch.no_grad()
def sinkhorn_knopp(scores: torch.Tensor, epsilon: float = 0.05,
                   iterations: int = 3) -> torch.Tensor:
    r"""Soft cluster assignments of a batch with equal cluster sizes (SwAV, Caron et al. 2020,
    eq. 3 and §A.1; Cuturi 2013):

    .. math::
        Q^* = \mathrm{Diag}(u)\,\exp\!\left(\frac{C^\top Z}{\varepsilon}\right)\mathrm{Diag}(v),
        \quad Q \mathbf{1}_B = \tfrac{1}{K}\mathbf{1}_K,\;
        Q^\top \mathbf{1}_K = \tfrac{1}{B}\mathbf{1}_B

    found by alternately rescaling rows (prototypes) and columns (samples) ``iterations`` times.
    The returned codes are :math:`B Q^{*\top}`: every sample's row sums to 1 exactly (the last
    step normalises samples), every prototype's column sums to B/K once converged. When
    distributed, B is the global batch: the row sums are all-reduced, as in the reference code.

    Shape:
        - scores: (B, K), sample-prototype cosine similarities :math:`z_b^\top c_k` of this rank.
        - output: (B, K) codes, float32 (float64 for float64 scores), no gradient.

    Example:
        >>> codes = sinkhorn_knopp(torch.randn(256, 3000), epsilon=0.05, iterations=3)
    """
    _, world = world_info()
    dtype, scores = scores.dtype, scores.double()  # exp(s / 0.05) spans 40 decades
    # the shift cancels in the normalisation, but only if every rank uses the same one
    shift = all_reduce(scores.max().clone(), 'max')
    q = torch.exp((scores - shift) / epsilon).t()                   # (K, B)
    num_protos, batch = q.shape[0], q.shape[1] * world
    q /= all_reduce(q.sum())
    for _ in range(iterations):
        q /= all_reduce(q.sum(dim=1, keepdim=True)) * num_protos  # each prototype gets 1/K
        q /= q.sum(dim=0, keepdim=True) * batch                     # each sample gets 1/B
    return (q * batch).t().to(torch.promote_types(dtype, torch.float32))


def swapped_prediction(scores: list[torch.Tensor], codes: list[torch.Tensor],
                       temperature: float = 0.1) -> torch.Tensor:
    r"""SwAV's swapped prediction loss (Caron et al. 2020, eq. 1-2): the code of view s is
    predicted from every other view t,

    .. math::
        \mathcal{L} = \frac{1}{|S|}\sum_{s \in S} \frac{1}{V - 1} \sum_{t \ne s}
        -\frac{1}{B}\sum_b \sum_k q^{(s)}_{bk} \log \mathrm{softmax}_k(z^{(t)}_b{}^\top c_k / \tau)

    where S are the views that get codes (``len(codes)``, the first views: the global crops).

    Shape:
        - scores: list of V tensors (B, K), prototype scores of every view (global crops first).
        - codes: list of |S| tensors (B, K), the targets of views 0..|S|-1
          (:func:`sinkhorn_knopp`).
        - output: scalar.

    Example:
        >>> scores = [torch.randn(8, 30) for _ in range(4)]
        >>> loss = swapped_prediction(scores, [sinkhorn_knopp(s) for s in scores[:2]])
    """
    total = 0.0
    for s, q in enumerate(codes):
        log_p = [F.log_softmax(z / temperature, dim=1) for t, z in enumerate(scores) if t != s]
        total = total + sum(-(q * lp).sum(dim=1).mean() for lp in log_p) / len(log_p)
    return total / len(codes)


@MODELS.register_module()
class SwAVLoss(nn.Module):
    """Codes of the first ``len(scores_for_codes)`` views by :func:`sinkhorn_knopp`, then
    :func:`swapped_prediction`; ``dict(type='SwAVLoss', epsilon=0.05, iterations=3)``.

    ``forward(scores, scores_for_codes)``: ``scores_for_codes[s]`` are the scores of view s,
    optionally preceded by queued samples' scores (only the last B rows' codes are kept).
    """

    def __init__(self, temperature: float = 0.1, epsilon: float = 0.05, iterations: int = 3):
        super().__init__()
        self.temperature, self.epsilon, self.iterations = temperature, epsilon, iterations

    def forward(self, scores, scores_for_codes):
        b = len(scores[0])
        codes = [sinkhorn_knopp(s.detach(), self.epsilon, self.iterations)[-b:]
                 for s in scores_for_codes]
        return swapped_prediction(scores, codes, self.temperature)
