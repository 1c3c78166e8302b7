# TaCo over BYOL: a predictor per transformation regresses the momentum target; no negatives.
_base_ = './taco_small3dcnn_synthetic-videos.py'
model = dict(objective='byol', momentum=0.99, head=dict(type='MLP', hidden_dim=256, out_dim=64),
             loss=dict(_delete_=True, type='NormalizedMSELoss'))
