import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapperDict

from mm_ssl.models.heads import LinearClsHead
from mm_ssl.models.train_step import train_step_all
from mm_ssl.registry import MODELS


class BaseSSL(BaseModel):
    """An SSL method: an encoder, the method's necks / heads / loss, and an optional online probe.

    Subclasses implement :meth:`compute_loss`; it receives the preprocessor's ``inputs``: the
    list of augmented views for image and video methods, a dict for multi-modal ones (SimIPU).
    ``forward(mode='tensor')`` returns
    :meth:`extract_feat`, the encoder's feature vector, which evaluation (kNN, linear probe) and
    export use; :meth:`embed` adds the embedding the loss acts on (representation health).
    Methods that keep state per training sample (a memory bank) set ``uses_sample_index = True``;
    their ``compute_loss`` then also receives ``idx``, the dataset index of each sample (B,).
    A config may give one optimiser per submodule (``ModuleOptimWrapperConstructor``): one
    backward then steps them all (:func:`train_step_all`).

    Args:
        encoder: config of the backbone (``feat_dim`` attribute, ``forward(x) -> (B, D)``).
        data_preprocessor: defaults to :class:`SSLDataPreprocessor` without augmentation.
        online_probe: ``dict(num_classes=C)`` trains a linear classifier on detached features of
            the first view during pretraining and logs ``acc_probe`` (solo-learn's online probe).
    """

    uses_sample_index = False

    def __init__(self, encoder: dict, data_preprocessor: dict | None = None,
                 online_probe: dict | None = None, init_cfg=None):
        # built here: mmengine's BaseModel would look in its root registry, outside the mm_ssl scope
        preprocessor = MODELS.build(data_preprocessor or dict(type='SSLDataPreprocessor'))
        super().__init__(data_preprocessor=preprocessor, init_cfg=init_cfg)
        self.encoder = MODELS.build(encoder)
        self.probe = LinearClsHead(self.encoder.feat_dim, **online_probe) if online_probe else None

    def build_mlp(self, cfg: dict, in_dim: int):
        """Build a neck/head config, filling ``in_dim`` from the module it follows."""
        return MODELS.build(dict(cfg, in_dim=cfg.get('in_dim', in_dim)))

    def compute_loss(self, views: list[torch.Tensor]) -> tuple[dict, torch.Tensor | None]:
        """Returns the method's losses and the encoder features (B, D) of ``views[0]`` (for the
        online probe; None for methods without one)."""
        raise NotImplementedError

    def train_step(self, data, optim_wrapper):
        if isinstance(optim_wrapper, OptimWrapperDict):
            return train_step_all(self, data, optim_wrapper)
        return super().train_step(data, optim_wrapper)

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """Encoder features (B, D) of normalised images; methods whose encoder takes another
        input than the image (colorization: the L channel) convert it here."""
        return self.encoder(inputs)

    @torch.no_grad()
    def embed(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Backbone features (B, D) and embeddings (B, d) of normalised images, for the
        representation-health hook: the embedding is the ``projector``'s output where the method
        has one, else the features."""
        feats = self.extract_feat(inputs)
        projector = getattr(self, 'projector', None)
        return feats, feats if projector is None else projector(feats)

    def forward(self, inputs, data_samples: dict | None = None, mode: str = 'tensor'):
        if mode == 'tensor':
            return self.extract_feat(inputs)
        if mode == 'loss':
            extra = dict(idx=data_samples['idx']) if self.uses_sample_index else {}
            views = inputs if isinstance(inputs, dict) else list(inputs)
            losses, feats = self.compute_loss(views, **extra)
            if self.probe is not None:
                logits = self.probe(feats.detach())
                labels = data_samples['label']
                losses['loss_probe'] = F.cross_entropy(logits, labels)
                losses['acc_probe'] = (logits.argmax(1) == labels).float().mean() * 100
            return losses
        raise ValueError(f'mode must be "tensor" or "loss", got {mode!r}')
