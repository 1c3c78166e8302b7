# Plain clip contrastive learning (SimCLR over two clip-consistent views of one clip): the
# baseline the temporal tasks are compared with.
_base_ = [
    '../_base_/models/video_small3dcnn.py',
    '../_base_/datasets/synthetic_videos.py',
    '../_base_/schedules/sgd_cosine_30e_video.py',
    '../_base_/default_runtime.py',
]
# evaluated by retrieval + linear probe (mm_ssl.evaluation.video), not the image kNN loop
val_dataloader = val_cfg = val_evaluator = None
model = dict(type='SimCLR', encoder={{_base_.encoder}}, neck={{_base_.neck}},
             loss=dict(type='NTXentLoss', temperature=0.2), data_preprocessor={{_base_.two_views}})
