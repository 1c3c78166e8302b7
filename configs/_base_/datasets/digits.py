# scikit-learn's digits (1797 real 8x8 images, shipped with the package): the embedded default.
# Augmentation runs per batch in the model's data preprocessor; the dataset serves plain images.
image_size = 32
train_dataset = dict(type='DigitsDataset', split='train', size=image_size)
test_dataset = dict(type='DigitsDataset', split='test', size=image_size)

train_dataloader = dict(
    batch_size=256, num_workers=0, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=train_dataset)
val_dataloader = dict(
    batch_size=512, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=test_dataset)
# kNN validation: the training images (no augmentation) are the memory bank
val_cfg = dict(type='KNNValLoop', k=200, temperature=0.07,
               memory_dataloader=dict(val_dataloader, dataset=train_dataset))
val_evaluator = dict()  # the kNN loop computes its own metric

# SimCLR's augmentation without flips and colour (digits are grey and not mirror-symmetric)
view = dict(size=image_size, scale=(0.4, 1.0), hflip_p=0.0, jitter=(0.4, 0.4, 0.0, 0.0),
            jitter_p=0.8, gray_p=0.0, blur_p=0.5)
augment = dict(type='MultiViewAugment', views=[dict(view, num=2)])
# BYOL's asymmetric pair: blur always on view 1, rarely on view 2, which may be solarized
byol_augment = dict(type='MultiViewAugment', views=[
    dict(view, num=1, blur_p=1.0), dict(view, num=1, blur_p=0.1, solarize_p=0.2)])
# one view per sample: for methods that contrast against a memory (InstDisc) or a teacher
# (SEED), and for the pretext tasks (rotation, jigsaw, ...) that make their own inputs from it
single_view_augment = dict(type='MultiViewAugment', views=[dict(view, num=1)])
# multi-crop (SwAV, DINO): 2 global crops + 4 local 16 px crops of small areas
multicrop_augment = dict(type='MultiViewAugment', views=[
    dict(view, num=2), dict(view, num=4, size=16, scale=(0.1, 0.4))])
