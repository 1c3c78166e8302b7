"""DINO's self-distillation loss with a centred, sharpened teacher."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mm_ssl.ops.dist import all_reduce, world_info
from mm_ssl.registry import MODELS


def dino_loss(student: list[torch.Tensor], teacher: list[torch.Tensor], center: torch.Tensor,
              student_temp: float = 0.1, teacher_temp: float = 0.04) -> torch.Tensor:
    r"""DINO's cross-entropy between teacher and student crops (Caron et al. 2021, eq. 3-4):

    .. math::
        P_t(x) = \mathrm{softmax}\!\left(\frac{g_t(x) - c}{\tau_t}\right),\quad
        \mathcal{L} = \frac{1}{|\text{pairs}|}\sum_{x \in \{x^g_1, x^g_2\}}
        \sum_{x' \ne x} -\frac{1}{B}\sum_b P_t(x)_b^\top \log P_s(x')_b

    with :math:`P_s = \mathrm{softmax}(g_s / \tau_s)`. Centering by :math:`c` stops one dimension
    dominating; the low teacher temperature :math:`\tau_t < \tau_s` sharpens, which stops the
    uniform collapse that centering alone would cause. Student view i and teacher view i are the
    same crop (the global crops come first) and are not paired.

    Shape:
        - student: list of V tensors (B, K), the student head's outputs for every crop.
        - teacher: list of G tensors (B, K), the teacher's outputs for the G global crops.
        - center: (K,) or (1, K).
        - output: scalar.

    Example:
        >>> loss = dino_loss([torch.randn(8, 64) for _ in range(6)],
        ...                  [torch.randn(8, 64) for _ in range(2)], torch.zeros(64))
    """
    targets = [F.softmax((t.detach() - center) / teacher_temp, dim=1) for t in teacher]
    log_p = [F.log_softmax(s / student_temp, dim=1) for s in student]
    pairs = [(g, v) for g in range(len(targets)) for v in range(len(log_p)) if v != g]
    return sum(-(targets[g] * log_p[v]).sum(dim=1).mean() for g, v in pairs) / len(pairs)


@torch.no_grad()
def updated_center(center: torch.Tensor, teacher: list[torch.Tensor],
                   momentum: float = 0.9) -> torch.Tensor:
    r"""DINO's centre EMA (eq. 4): :math:`c \leftarrow m c + (1 - m)\frac{1}{GB}\sum_i g_t(x_i)`,
    the mean over the teacher outputs of every rank's global crops.

    Shape:
        - center: (1, K); teacher: list of G tensors (B, K); output: (1, K).
    """
    outputs = torch.cat(teacher)                                        # (G*B, K)
    batch_mean = all_reduce(outputs.sum(dim=0, keepdim=True)) / (len(outputs) * world_info()[1])
    return center * momentum + batch_mean * (1 - momentum)


def teacher_temperature(iteration: int, warmup_iters: int, warmup_temp: float = 0.04,
                        temp: float = 0.04) -> float:
    """DINO's teacher temperature: linear from ``warmup_temp`` at iteration 0 to ``temp`` at
    ``warmup_iters``, constant after (the paper warms 0.04 -> 0.07 over 30 epochs)."""
    if iteration >= warmup_iters:
        return temp
    return warmup_temp + (temp - warmup_temp) * iteration / warmup_iters


@MODELS.register_module()
class DINOLoss(nn.Module):
    """:func:`dino_loss` with its centre state: ``forward(student, teacher, iteration)`` returns
    the loss against the current centre, then moves the centre (:func:`updated_center`).

    Example:
        >>> criterion = DINOLoss(out_dim=65536, warmup_teacher_temp_iters=3000)
    """

    def __init__(self, out_dim: int, student_temp: float = 0.1, teacher_temp: float = 0.04,
                 warmup_teacher_temp: float = 0.04, warmup_teacher_temp_iters: int = 0,
                 center_momentum: float = 0.9):
        super().__init__()
        self.student_temp, self.center_momentum = student_temp, center_momentum
        self.temps = (warmup_teacher_temp, teacher_temp)
        self.warmup_iters = warmup_teacher_temp_iters
        self.register_buffer('center', torch.zeros(1, out_dim))

    def forward(self, student, teacher, iteration: int = 0):
        temp = teacher_temperature(iteration, self.warmup_iters, *self.temps)
        loss = dino_loss(student, teacher, self.center, self.student_temp, temp)
        self.center.copy_(updated_center(self.center, teacher, self.center_momentum))
        return loss
