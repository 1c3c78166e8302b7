# OPN: 4 frames of a high-motion window, 12 order classes (forward / backward merged).
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
train_dataloader = dict(dataset=dict(type='VideoTaskDataset', task='opn',
                                     task_cfg=dict(span=20, min_gap=3)))
model = dict(type='OPN', encoder={{_base_.encoder}}, data_preprocessor={{_base_.one_view}})
