# Frame similarity: time-contrastive InfoNCE on single frames (T = 1 clips); anchor, a positive
# within +-2 frames, 2 negatives more than 10 frames away (~0.4 s at 25 fps).
_base_ = [
    '../_base_/models/video_small3dcnn.py',
    '../_base_/datasets/synthetic_videos.py',
    '../_base_/schedules/sgd_cosine_30e_video.py',
    '../_base_/default_runtime.py',
]
# evaluated by retrieval + linear probe (mm_ssl.evaluation.video), not the image kNN loop
val_dataloader = val_cfg = val_evaluator = None
train_dataloader = dict(dataset=dict(type='VideoTaskDataset', task='tcn',
                                     task_cfg=dict(pos_radius=2, neg_gap=10, num_negatives=2)))
model = dict(type='TimeContrastive', encoder={{_base_.encoder}}, neck={{_base_.neck}},
             form='nce', temperature=0.1, data_preprocessor={{_base_.one_view}})
