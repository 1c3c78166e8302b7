# Shuffle and Learn: 5 frames a<b<c<d<e from a high-motion 20-frame window, 75% negatives.
_base_ = [
    '../_base_/models/video_small3dcnn.py',
    '../_base_/datasets/synthetic_videos.py',
    '../_base_/schedules/sgd_cosine_30e_video.py',
    '../_base_/default_runtime.py',
]
# evaluated by retrieval + linear probe (mm_ssl.evaluation.video), not the image kNN loop
val_dataloader = val_cfg = val_evaluator = None
train_dataloader = dict(dataset=dict(type='VideoTaskDataset', task='shuffle_learn',
                                     task_cfg=dict(span=20, min_gap=2)))
model = dict(type='ShuffleAndLearn', encoder={{_base_.encoder}}, negative_share=0.75,
             data_preprocessor={{_base_.one_view}})
