import torch
from mmengine.dist import is_main_process
from mmengine.model import is_model_wrapper
from mmengine.utils import ProgressBar


@torch.no_grad()
def extract_features(model, dataloader, desc: str = '') -> tuple[torch.Tensor, torch.Tensor]:
    """Encoder features and labels of a whole dataset, with the model in eval mode (BN running
    statistics are used and not updated). ``model`` is an mm_ssl algorithm; its
    ``forward(mode='tensor')`` returns the encoder's feature vector.

    Returns:
        (N, D) float features and (N,) int64 labels, on the model's device.
    """
    model = model.module if is_model_wrapper(model) else model
    was_training = model.training
    model.eval()
    feats, labels = [], []
    bar = ProgressBar(len(dataloader)) if desc and is_main_process() else None
    if bar is not None:
        print(f'extracting features: {desc}', flush=True)
    for batch in dataloader:
        data = model.data_preprocessor(batch, training=False)
        feats.append(model(data['inputs'], mode='tensor'))
        labels.append(data['data_samples']['label'])
        if bar is not None:
            bar.update()
    if bar is not None:
        print(flush=True)
    model.train(was_training)
    return torch.cat(feats).float(), torch.cat(labels).long()
