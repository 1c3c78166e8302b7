from .contrastive import InfoNCELoss, NTXentLoss, info_nce, nt_xent
from .negative_free import NormalizedMSELoss, normalized_mse
from .simipu import cross_modal_loss, intra_modal_loss

__all__ = ['info_nce', 'nt_xent', 'normalized_mse', 'InfoNCELoss', 'NTXentLoss',
           'NormalizedMSELoss', 'intra_modal_loss', 'cross_modal_loss']
from .negative_free import NegativeCosineLoss, negative_cosine  # noqa: E402

__all__ += ['negative_cosine', 'NegativeCosineLoss']
from .pretext import colorization_loss, masked_mse, pretext_classification  # noqa: E402

__all__ += ['colorization_loss', 'masked_mse', 'pretext_classification']
