# TaCo over SimCLR: 8-frame clips; the input holds 8 * 4 = 32 frames so the 4x speed fits.
_base_ = [
    '../_base_/models/video_small3dcnn.py',
    '../_base_/datasets/synthetic_videos.py',
    '../_base_/schedules/sgd_cosine.py',
    '../_base_/default_runtime.py',
]
max_epochs = 30
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10**6)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=2, end=max_epochs,
         convert_to_iter_based=True),
]
# evaluation: retrieval + linear probe of mm_ssl.evaluation.video (benchmarks/video_tasks.py), not
# the image kNN loop
val_dataloader = val_cfg = val_evaluator = None
clip_len = 8
train_dataloader = dict(dataset=dict(clip_len=clip_len * 4, frame_interval=1))
model = dict(type='TaCo', encoder={{_base_.encoder}}, neck={{_base_.neck}}, clip_len=clip_len,
             transforms=('rotation', 'reversal', 'shuffle', 'speed'), speed_rates=(1, 2, 3, 4),
             objective='simclr', loss=dict(type='NTXentLoss', temperature=0.2), task_weights=1.0,
             data_preprocessor={{_base_.two_views}})
