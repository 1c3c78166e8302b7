"""Losses as plain functions (and thin nn.Module wrappers for configs)."""
from .cmc import CMCLoss, cmc_loss
from .contrastive import InfoNCELoss, NTXentLoss, info_nce, nt_xent, pair_logits
from .contrastive_variants import (AlignUniformLoss, DCLLoss, DirectCLRLoss,
                                   HardNegativeNTXentLoss, InvaSpreadLoss, TripletLoss,
                                   align_uniform, alignment, batch_hard_triplet, dcl, directclr,
                                   hard_negative_nt_xent, invaspread, triplet, uniformity)
from .cpc import CPCLoss, cpc_info_nce
from .dino import DINOLoss, dino_loss, teacher_temperature, updated_center
from .distillation import SEEDLoss, seed_loss
from .instance_discrimination import NPIDLoss, npid_nce
from .negative_free import NegativeCosineLoss, NormalizedMSELoss, negative_cosine, normalized_mse
from .occupancy import OccupancyLoss, occupancy_bce, occupancy_targets
from .point_contrast import PointInfoNCELoss, point_info_nce, sample_point_pairs
from .pretext import colorization_loss, masked_mse, pretext_classification
from .simipu import SimIPULoss, cross_modal_loss, intra_modal_loss
from .slidr import SuperpixelInfoNCELoss, superpixel_info_nce, superpixel_pool
from .swav import SwAVLoss, sinkhorn_knopp, swapped_prediction
from .temporal import taco_loss, time_contrastive_nce, time_contrastive_triplet

__all__ = [
    'info_nce', 'nt_xent', 'pair_logits', 'InfoNCELoss', 'NTXentLoss',
    'normalized_mse', 'negative_cosine', 'NormalizedMSELoss', 'NegativeCosineLoss',
    'dcl', 'hard_negative_nt_xent', 'invaspread', 'alignment', 'uniformity', 'align_uniform',
    'directclr', 'triplet', 'batch_hard_triplet', 'DCLLoss', 'HardNegativeNTXentLoss',
    'InvaSpreadLoss', 'AlignUniformLoss', 'DirectCLRLoss', 'TripletLoss',
    'npid_nce', 'NPIDLoss', 'seed_loss', 'SEEDLoss',
    'sinkhorn_knopp', 'swapped_prediction', 'SwAVLoss',
    'dino_loss', 'updated_center', 'teacher_temperature', 'DINOLoss',
    'cpc_info_nce', 'CPCLoss', 'cmc_loss', 'CMCLoss',
    'colorization_loss', 'masked_mse', 'pretext_classification',
    'intra_modal_loss', 'cross_modal_loss', 'SimIPULoss',
    'point_info_nce', 'sample_point_pairs', 'PointInfoNCELoss',
    'occupancy_targets', 'occupancy_bce', 'OccupancyLoss',
    'superpixel_pool', 'superpixel_info_nce', 'SuperpixelInfoNCELoss',
    'time_contrastive_nce', 'time_contrastive_triplet', 'taco_loss']
