# BYOL over clips.
_base_ = [
    '../_base_/models/video_small3dcnn.py',
    '../_base_/datasets/synthetic_videos.py',
    '../_base_/schedules/sgd_cosine_30e_video.py',
    '../_base_/default_runtime.py',
]
# evaluated by retrieval + linear probe (mm_ssl.evaluation.video), not the image kNN loop
val_dataloader = val_cfg = val_evaluator = None
model = dict(type='BYOL', encoder={{_base_.encoder}}, neck={{_base_.neck}},
             head=dict(type='MLP', hidden_dim=256, out_dim=64), momentum=0.99,
             data_preprocessor={{_base_.two_views}})
