# Any class-per-folder image tree (ImageNet-style). Images differ in size, so the views are made
# per sample in the dataloader workers, and evaluation resizes + centre-crops to image_size.
data_root = 'data/images'
image_size = 96
view = dict(size=image_size, scale=(0.08, 1.0), hflip_p=0.5, jitter=(0.4, 0.4, 0.2, 0.1),
            jitter_p=0.8, gray_p=0.2, blur_p=0.5)
augment = dict(type='MultiViewAugment', views=[dict(view, num=2)])
train_dataset = dict(type='ImageFolderDataset', root=data_root + '/train', pipeline=augment)
plain_train_dataset = dict(type='ImageFolderDataset', root=data_root + '/train', size=image_size)
test_dataset = dict(type='ImageFolderDataset', root=data_root + '/val', size=image_size)

train_dataloader = dict(
    batch_size=128, num_workers=2, persistent_workers=True, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=train_dataset)
val_dataloader = dict(
    batch_size=256, num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=test_dataset)
val_cfg = dict(type='KNNValLoop', k=200, temperature=0.07,
               memory_dataloader=dict(val_dataloader, dataset=plain_train_dataset))
val_evaluator = dict()
