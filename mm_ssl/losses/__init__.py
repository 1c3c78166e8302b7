from .contrastive import InfoNCELoss, NTXentLoss, info_nce, nt_xent
from .negative_free import NormalizedMSELoss, normalized_mse

__all__ = ['info_nce', 'nt_xent', 'normalized_mse', 'InfoNCELoss', 'NTXentLoss',
           'NormalizedMSELoss']
