# Shuffle and Learn: 5 frames a<b<c<d<e from a high-motion 20-frame window, 75% negatives.
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
train_dataloader = dict(dataset=dict(type='VideoTaskDataset', task='shuffle_learn',
                                     task_cfg=dict(span=20, min_gap=2)))
model = dict(type='ShuffleAndLearn', encoder={{_base_.encoder}}, negative_share=0.75,
             data_preprocessor={{_base_.one_view}})
