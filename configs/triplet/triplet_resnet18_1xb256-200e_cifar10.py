# SimCLR trained with a batch-hard triplet loss (FaceNet margin 0.2) instead of NT-Xent
_base_ = '../simclr/simclr_resnet18_1xb256-200e_cifar10.py'
model = dict(loss=dict(_delete_=True, type='TripletLoss', margin=0.2))
