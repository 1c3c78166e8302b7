from .features import extract_features
from .health import alignment, effective_rank, normalized_std, singular_values, uniformity
from .knn import knn_accuracy, knn_predict
from .linear import linear_probe
from .protocols import (build_model, detection_transfer, evaluate, supported_protocols,
                        video_evaluation)
from .video import (evaluate_video, extract_clip_features, finetune, retrieval_recall,
                    video_level)

__all__ = ['extract_features', 'knn_predict', 'knn_accuracy', 'linear_probe', 'evaluate_video',
           'extract_clip_features', 'finetune', 'retrieval_recall', 'video_level',
           'build_model', 'evaluate', 'detection_transfer', 'supported_protocols',
           'video_evaluation',
           'alignment', 'effective_rank', 'normalized_std', 'singular_values', 'uniformity']
