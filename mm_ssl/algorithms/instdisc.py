from mm_ssl.models.memory import MemoryBank
from mm_ssl.registry import MODELS

from .base import BaseSSL


@MODELS.register_module()
class InstDisc(BaseSSL):
    """InstDisc / NPID (Wu et al. 2018, "Unsupervised Feature Learning via Non-Parametric Instance
    Discrimination"): every training image is its own class. The embedding of one augmented view
    (encoder + linear neck, L2-normalised) must pick out its own memory-bank entry among
    ``num_negatives`` entries drawn uniformly from the bank (NCE or softmax, :class:`NPIDLoss`);
    then the sample's entry moves towards the new embedding with ``bank_momentum``.

    The noise entries are drawn once per step and shared by the batch (the paper draws them per
    sample). ``bank_size`` must be at least the number of training samples.
    """

    uses_sample_index = True

    def __init__(self, encoder: dict, neck: dict, bank_size: int, num_negatives: int = 4096,
                 bank_momentum: float = 0.5,
                 loss: dict = dict(type='NPIDLoss', temperature=0.07, mode='nce'), **kwargs):
        super().__init__(encoder, **kwargs)
        self.projector = self.build_mlp(neck, self.encoder.feat_dim)
        self.bank = MemoryBank(bank_size, self.projector.out_dim, bank_momentum)
        self.criterion = MODELS.build(loss)
        self.num_negatives = num_negatives

    def compute_loss(self, views, idx):
        h = self.encoder(views[0])                                      # (B, D)
        z = self.projector(h)                                           # (B, d)
        loss = self.criterion(z, self.bank.get(idx), self.bank.sample(self.num_negatives),
                              num_data=len(self.bank.features))
        self.bank.update(idx, z.detach())
        return dict(loss=loss), h
