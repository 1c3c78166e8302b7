# Shared pieces of the video configs: the CPU-sized 3D CNN, a projector, clip-consistent
# augmentation (no flips: the synthetic classes are motion directions, a mirror swaps them;
# crops of >= 60% of the frame, so that the one moving object mostly stays in view).
frame_size = 48
encoder = dict(type='Small3DCNN', widths=(16, 32, 64, 128), temporal_downsamples=2)
neck = dict(type='MLP', hidden_dim=256, out_dim=64)
clip_augment = dict(type='ClipAugment', size=frame_size, scale=(0.6, 1.0), hflip_p=0.0,
                    jitter=(0.4, 0.4, 0.4, 0.1), jitter_p=0.8, gray_p=0.2)

one_view = dict(type='VideoDataPreprocessor', size=frame_size,
                augment=dict(clip_augment, num_views=1))
two_views = dict(one_view, augment=dict(clip_augment, num_views=2))
