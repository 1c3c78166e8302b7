# CIFAR-10 in its official python-pickle format: data/cifar10/cifar-10-batches-py/
data_root = 'data/cifar10'
image_size = 32
train_dataset = dict(type='CIFAR10Dataset', root=data_root, split='train')
test_dataset = dict(type='CIFAR10Dataset', root=data_root, split='test')

train_dataloader = dict(
    batch_size=256, num_workers=2, persistent_workers=True, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=train_dataset)
val_dataloader = dict(
    batch_size=512, num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=test_dataset)
val_cfg = dict(type='KNNValLoop', k=200, temperature=0.07,
               memory_dataloader=dict(val_dataloader, dataset=train_dataset))
val_evaluator = dict()

# SimCLR's CIFAR recipe (Chen et al. 2020, appendix B.9): crop, flip, colour jitter 0.4/0.1,
# grayscale; no blur at 32 px
view = dict(size=image_size, scale=(0.08, 1.0), hflip_p=0.5, jitter=(0.4, 0.4, 0.4, 0.1),
            jitter_p=0.8, gray_p=0.2, blur_p=0.0)
augment = dict(type='MultiViewAugment', views=[dict(view, num=2)])
# BYOL's asymmetric pair: blur always on view 1, rarely on view 2, which may be solarized
byol_augment = dict(type='MultiViewAugment', views=[
    dict(view, num=1, blur_p=1.0), dict(view, num=1, blur_p=0.1, solarize_p=0.2)])
# one view per sample: for methods that contrast against a memory (InstDisc) or a teacher
# (SEED), and for the pretext tasks (rotation, jigsaw, ...) that make their own inputs from it
single_view_augment = dict(type='MultiViewAugment', views=[dict(view, num=1)])
# multi-crop (SwAV, DINO): 2 global crops + 4 local 16 px crops (SwAV's scales, appendix A)
multicrop_augment = dict(type='MultiViewAugment', views=[
    dict(view, num=2, scale=(0.14, 1.0)), dict(view, num=4, size=16, scale=(0.05, 0.14))])
