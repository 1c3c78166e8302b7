import torch
from mmengine.dist import is_main_process
from mmengine.model import is_model_wrapper

from mm_ssl.progress import progress


@torch.no_grad()
def extract_features(model, dataloader, desc: str = '') -> tuple[torch.Tensor, torch.Tensor]:
    """Encoder features and labels of a whole dataset, with the model in eval mode (BN running
    statistics are used and not updated). ``model`` is an mm_ssl algorithm; its
    ``forward(mode='tensor')`` returns the encoder's feature vector. A non-empty ``desc`` shows
    :func:`mm_ssl.progress.progress`'s bar, led by ``extracting features: <desc>`` (on the main
    process only).

    Returns:
        (N, D) float features and (N,) int64 labels, on the model's device.
    """
    model = model.module if is_model_wrapper(model) else model
    was_training = model.training
    model.eval()
    feats, labels = [], []
    batches = progress(dataloader, desc=f'extracting features: {desc}', unit='batch',
                       disable=not (desc and is_main_process()))
    for batch in batches:
        data = model.data_preprocessor(batch, training=False)
        feats.append(model(data['inputs'], mode='tensor'))
        labels.append(data['data_samples']['label'])
    model.train(was_training)
    return torch.cat(feats).float(), torch.cat(labels).long()
