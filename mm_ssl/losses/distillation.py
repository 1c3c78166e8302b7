"""Self-supervised distillation: a student learns from a frozen, pretrained teacher."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mm_ssl.registry import MODELS


def seed_loss(student: torch.Tensor, teacher: torch.Tensor, queue: torch.Tensor,
              student_temperature: float = 0.2, teacher_temperature: float = 0.01
              ) -> torch.Tensor:
    r"""SEED (Fang et al. 2021, "SEED: Self-supervised Distillation for Visual Representation",
    eqs. 1-4): over :math:`D^+ = [d_1 \dots d_K, z^T]`, the queue of teacher embeddings plus the
    teacher's embedding of the same image, the student's similarity distribution matches the
    teacher's,

    .. math::
        p^T_j = \frac{\exp(z^T \cdot d_j / \tau^T)}{\sum_{d \in D^+} \exp(z^T \cdot d / \tau^T)},
        \quad
        p^S_j = \frac{\exp(z^S \cdot d_j / \tau^S)}{\sum_{d \in D^+} \exp(z^S \cdot d / \tau^S)},
        \quad
        \mathcal{L} = -\frac{1}{N}\sum_{\text{batch}} \sum_j p^T_j \log p^S_j

    All vectors are L2-normalised; the teacher side carries no gradient.

    Shape:
        - student, teacher: (N, D) embeddings of the same images.
        - queue: (K, D) past teacher embeddings (K may be 0).
        - output: scalar.

    Example:
        >>> loss = seed_loss(torch.randn(8, 128), torch.randn(8, 128), torch.randn(4096, 128))
    """
    s, t = F.normalize(student, dim=1), F.normalize(teacher.detach(), dim=1)
    queue = F.normalize(queue.detach(), dim=1)
    logits_t = torch.cat([torch.einsum('nd,kd->nk', t, queue),                   # (N, K)
                          torch.einsum('nd,nd->n', t, t).unsqueeze(1)], 1)      # (N, K+1)
    logits_s = torch.cat([torch.einsum('nd,kd->nk', s, queue),
                          torch.einsum('nd,nd->n', s, t).unsqueeze(1)], 1)
    p_t = F.softmax(logits_t / teacher_temperature, dim=1)
    return -(p_t * F.log_softmax(logits_s / student_temperature, dim=1)).sum(1).mean()


@MODELS.register_module()
class SEEDLoss(nn.Module):
    """Module form of :func:`seed_loss`:
    ``dict(type='SEEDLoss', student_temperature=0.2, teacher_temperature=0.01)``."""

    def __init__(self, student_temperature: float = 0.2, teacher_temperature: float = 0.01):
        super().__init__()
        self.student_temperature = student_temperature
        self.teacher_temperature = teacher_temperature

    def forward(self, student, teacher, queue):
        return seed_loss(student, teacher, queue, self.student_temperature,
                         self.teacher_temperature)
