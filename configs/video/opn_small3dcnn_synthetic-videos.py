# OPN: 4 frames of a high-motion window, 12 order classes (forward / backward merged).
_base_ = [
    '../_base_/models/video_small3dcnn.py',
    '../_base_/datasets/synthetic_videos.py',
    '../_base_/schedules/sgd_cosine_30e_video.py',
    '../_base_/default_runtime.py',
]
# evaluated by retrieval + linear probe (mm_ssl.evaluation.video), not the image kNN loop
val_dataloader = val_cfg = val_evaluator = None
train_dataloader = dict(dataset=dict(type='VideoTaskDataset', task='opn',
                                     task_cfg=dict(span=20, min_gap=3)))
model = dict(type='OPN', encoder={{_base_.encoder}}, data_preprocessor={{_base_.one_view}})
