from .features import extract_features
from .knn import knn_accuracy, knn_predict
from .linear import linear_probe
from .video import (evaluate_video, extract_clip_features, finetune, retrieval_recall,
                    video_level)

__all__ = ['extract_features', 'knn_predict', 'knn_accuracy', 'linear_probe', 'evaluate_video',
           'extract_clip_features', 'finetune', 'retrieval_recall', 'video_level']
from .protocols import (build_model, detection_transfer, evaluate,  # noqa: E402
                        supported_protocols)

__all__ += ['build_model', 'evaluate', 'detection_transfer', 'supported_protocols']
from .health import (alignment, effective_rank, normalized_std, singular_values,  # noqa: E402
                     uniformity)

__all__ += ['alignment', 'effective_rank', 'normalized_std', 'singular_values', 'uniformity']
