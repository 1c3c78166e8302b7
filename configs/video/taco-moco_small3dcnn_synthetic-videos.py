# TaCo over MoCo v2: a momentum encoder and a key queue per transformation.
_base_ = './taco_small3dcnn_synthetic-videos.py'
model = dict(objective='moco', queue_size=1024, momentum=0.99,
             loss=dict(type='InfoNCELoss', temperature=0.2))
