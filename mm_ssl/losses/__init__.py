from .contrastive import InfoNCELoss, NTXentLoss, info_nce, nt_xent
from .negative_free import NormalizedMSELoss, normalized_mse
from .simipu import cross_modal_loss, intra_modal_loss

__all__ = ['info_nce', 'nt_xent', 'normalized_mse', 'InfoNCELoss', 'NTXentLoss',
           'NormalizedMSELoss', 'intra_modal_loss', 'cross_modal_loss']
# SwAV, DINO, CPC, CMC (issue 3)
from .cmc import CMCLoss, cmc_loss  # noqa: E402
from .cpc import CPCLoss, cpc_info_nce  # noqa: E402
from .dino import DINOLoss, dino_loss, teacher_temperature, updated_center  # noqa: E402
from .swav import SwAVLoss, sinkhorn_knopp, swapped_prediction  # noqa: E402
__all__ += ['sinkhorn_knopp', 'swapped_prediction', 'SwAVLoss', 'dino_loss', 'updated_center',
            'teacher_temperature', 'DINOLoss', 'cpc_info_nce', 'CPCLoss', 'cmc_loss', 'CMCLoss']
