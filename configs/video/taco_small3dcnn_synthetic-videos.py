# TaCo over SimCLR: 8-frame clips; the input holds 8 * 4 = 32 frames so the 4x speed fits.
_base_ = [
    '../_base_/models/video_small3dcnn.py',
    '../_base_/datasets/synthetic_videos.py',
    '../_base_/schedules/sgd_cosine_30e_video.py',
    '../_base_/default_runtime.py',
]
# evaluated by retrieval + linear probe (mm_ssl.evaluation.video), not the image kNN loop
val_dataloader = val_cfg = val_evaluator = None
clip_len = 8
train_dataloader = dict(dataset=dict(clip_len=clip_len * 4, frame_interval=1))
model = dict(type='TaCo', encoder={{_base_.encoder}}, neck={{_base_.neck}}, clip_len=clip_len,
             transforms=('rotation', 'reversal', 'shuffle', 'speed'), speed_rates=(1, 2, 3, 4),
             objective='simclr', loss=dict(type='NTXentLoss', temperature=0.2), task_weights=1.0,
             data_preprocessor={{_base_.two_views}})
