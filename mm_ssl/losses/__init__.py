from .contrastive import InfoNCELoss, NTXentLoss, info_nce, nt_xent
from .negative_free import NormalizedMSELoss, normalized_mse
from .simipu import cross_modal_loss, intra_modal_loss
from .temporal import taco_loss, time_contrastive_nce, time_contrastive_triplet

__all__ = ['info_nce', 'nt_xent', 'normalized_mse', 'InfoNCELoss', 'NTXentLoss',
           'NormalizedMSELoss', 'intra_modal_loss', 'cross_modal_loss', 'time_contrastive_nce',
           'time_contrastive_triplet', 'taco_loss']
