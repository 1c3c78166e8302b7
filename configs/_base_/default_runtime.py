default_scope = 'mm_ssl'
runner_type = 'SSLRunner'

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
# counts the samples datasets skip under on_bad_sample='skip' and lists them at the end
custom_hooks = [dict(type='BadSampleCounterHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),  # gloo is used automatically on machines without CUDA
)

vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(window_size=10, by_epoch=True)
log_level = 'INFO'
# a NaN / inf loss stops the run before the optimiser step (the last checkpoint stays good);
# skip_nonfinite = K skips up to K such steps first, each logged (mm_ssl/engine/nonfinite.py)
skip_nonfinite = 0
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
