# CIFAR-100 in its official python-pickle format: data/cifar100/cifar-100-python/
_base_ = './cifar10.py'
data_root = 'data/cifar100'
train_dataset = dict(type='CIFAR100Dataset', root=data_root, split='train', label='fine')
test_dataset = dict(type='CIFAR100Dataset', root=data_root, split='test', label='fine')
train_dataloader = dict(dataset=train_dataset)
val_dataloader = dict(dataset=test_dataset)
val_cfg = dict(memory_dataloader=dict(dataset=train_dataset))
