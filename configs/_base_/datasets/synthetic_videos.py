# The embedded default for video self-supervision: data_prep/make_synthetic_videos.py writes
# 64 px, 2 s, 25 fps clips of 10 motion-defined classes and UCF101-format split lists here, and
# data_prep/build_video_index.py the index (optional: without it each file is probed when read).
data_root = 'data/synthetic_videos'
# 8 frames, every 4th: a clip spans 29 frames, so the motion that tells the classes apart shows
# (the benchmark's videos have 32 frames, the object moves ~0.35 px per frame)
clip_len, frame_interval = 8, 4
train_dataset = dict(type='VideoDataset', data_root=data_root, ann_file='trainlist01.txt',
                     clip_len=clip_len, frame_interval=frame_interval, sampler='random',
                     frame_cache=dict(memory_frames=4096), on_bad_sample='skip')
# evaluation: N uniform clips per video, averaged into one video-level prediction / feature
test_dataset = dict(train_dataset, ann_file='testlist01.txt', sampler='uniform', num_clips=5)
plain_train_dataset = dict(test_dataset, ann_file='trainlist01.txt')

train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=True, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=train_dataset)
val_dataloader = dict(
    batch_size=16, num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=test_dataset)
