import torch
import torch.nn as nn

from mm_ssl.models.checkpoint import check_matches, read_checkpoint
from mm_ssl.errors import ConfigError
from mm_ssl.models.memory import KeyQueue
from mm_ssl.registry import MODELS

from .base import BaseSSL


@MODELS.register_module()
class SEED(BaseSSL):
    """SEED (Fang et al. 2021, "SEED: Self-supervised Distillation for Visual Representation"): a
    small student (encoder + projector) learns to reproduce a frozen teacher's similarity
    distribution over a queue of teacher embeddings (:class:`SEEDLoss`).

    The teacher is any mm_ssl model: ``teacher`` is its model config (e.g. the ``model`` of a
    SimCLR / MoCo / BYOL config), ``teacher_checkpoint`` a checkpoint it wrote. Its
    ``encoder`` followed by the module named ``teacher_embedding`` (``None``: the encoder alone)
    gives the target embedding; the rest of the teacher is dropped. The teacher stays in eval
    mode (frozen BN statistics). Every view is distilled as a sample of its own.
    """

    def __init__(self, encoder: dict, neck: dict, teacher: dict, teacher_checkpoint: str,
                 teacher_embedding: str | None = 'projector', queue_size: int = 4096,
                 loss: dict = dict(type='SEEDLoss'), **kwargs):
        super().__init__(encoder, **kwargs)
        self.projector = self.build_mlp(neck, self.encoder.feat_dim)
        self.teacher = self._load_teacher(teacher, teacher_checkpoint, teacher_embedding)
        self.queue = KeyQueue(queue_size, self.projector.out_dim)
        self.criterion = MODELS.build(loss)

    def _load_teacher(self, cfg: dict, path: str, embedding: str | None) -> nn.Module:
        model = MODELS.build(cfg)
        state = read_checkpoint(path)
        check_matches(model.state_dict(), state, path)
        model.load_state_dict(state, strict=False)     # extra keys (another probe) are harmless
        if embedding is not None and not hasattr(model, embedding):
            raise ConfigError(f'SEED: teacher {type(model).__name__} has no module '
                              f'{embedding!r} (teacher_embedding)')
        head = getattr(model, embedding) if embedding else nn.Identity()
        out_dim = getattr(head, 'out_dim', model.encoder.feat_dim)
        if out_dim != self.projector.out_dim:
            raise ConfigError(f'SEED: the student neck outputs {self.projector.out_dim} dims, '
                              f'the teacher embedding {out_dim}; set neck.out_dim={out_dim}')
        return nn.Sequential(model.encoder, head).requires_grad_(False).eval()

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher.eval()
        return self

    def compute_loss(self, views):
        x = torch.cat(views)                                            # (V*B, C, H, W)
        h = self.encoder(x)                                             # (V*B, D)
        with torch.no_grad():
            target = self.teacher(x)                                    # (V*B, d)
        loss = self.criterion(self.projector(h), target, self.queue.negatives().clone())
        self.queue.push(target)
        return dict(loss=loss), h[:len(views[0])]
