from .contrastive import InfoNCELoss, NTXentLoss, info_nce, nt_xent
from .negative_free import NormalizedMSELoss, normalized_mse
from .simipu import cross_modal_loss, intra_modal_loss

__all__ = ['info_nce', 'nt_xent', 'normalized_mse', 'InfoNCELoss', 'NTXentLoss',
           'NormalizedMSELoss', 'intra_modal_loss', 'cross_modal_loss']
from .contrastive import pair_logits  # noqa: E402  zoo-a
from .contrastive_variants import (AlignUniformLoss, DCLLoss, DirectCLRLoss,  # noqa: E402  zoo-a
                                   HardNegativeNTXentLoss, InvaSpreadLoss, TripletLoss,
                                   align_uniform, alignment, batch_hard_triplet, dcl, directclr,
                                   hard_negative_nt_xent, invaspread, triplet, uniformity)
from .distillation import SEEDLoss, seed_loss  # noqa: E402  zoo-a
from .instance_discrimination import NPIDLoss, npid_nce  # noqa: E402  zoo-a

__all__ += ['pair_logits', 'dcl', 'hard_negative_nt_xent', 'invaspread', 'alignment',  # zoo-a
            'uniformity', 'align_uniform', 'directclr', 'triplet', 'batch_hard_triplet',
            'seed_loss', 'npid_nce', 'DCLLoss', 'HardNegativeNTXentLoss', 'InvaSpreadLoss',
            'AlignUniformLoss', 'DirectCLRLoss', 'TripletLoss', 'SEEDLoss', 'NPIDLoss']
from .negative_free import NegativeCosineLoss, negative_cosine  # noqa: E402

__all__ += ['negative_cosine', 'NegativeCosineLoss']
from .pretext import colorization_loss, masked_mse, pretext_classification  # noqa: E402

__all__ += ['colorization_loss', 'masked_mse', 'pretext_classification']
