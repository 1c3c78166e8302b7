# OPN: 4 frames >= 8 apart in a high-motion 40-frame window, 12 order classes (forward /
# backward merged).
_base_ = [
    '../_base_/models/video_small3dcnn.py',
    '../_base_/datasets/synthetic_videos.py',
    '../_base_/schedules/sgd_cosine_30e_video.py',
    '../_base_/default_runtime.py',
]
# evaluated by retrieval + linear probe (mm_ssl.evaluation.video), not the image kNN loop
val_dataloader = val_cfg = val_evaluator = None
train_dataloader = dict(dataset=dict(type='VideoTaskDataset', task='opn',
                                     task_cfg=dict(span=40, min_gap=8)))
model = dict(type='OPN', encoder={{_base_.encoder}}, data_preprocessor={{_base_.one_view}})
# the schedules' lr (0.06 at batch 16): the default head (pair differences, BN, leaky ReLU) does
# not die there; the papers' ReLU head on concatenated pairs did within ~150 steps
# (TaskHeadHealthHook), and learnt nothing at the VCOP reference's 1e-3 (benchmarks/README.md)
custom_hooks = [dict(type='BadSampleCounterHook'), dict(type='TaskHeadHealthHook', interval=50)]
