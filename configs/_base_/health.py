# The runtime of image methods: default_runtime plus representation health (effective rank,
# spectrum plot, std, alignment/uniformity on a probe batch; mm_ssl/engine/health.py). A check
# costs about one training step; digits epochs are 5 iterations, so check every 50 iterations /
# 10 epochs. Set min_rank to stop collapsing runs.
_base_ = ['./default_runtime.py']
custom_hooks = [dict(type='BadSampleCounterHook'),
                dict(type='RepresentationHealthHook', interval=50, epoch_interval=10,
                     probe_size=256)]
