import torch

from mm_ssl.errors import CheckpointError


def read_checkpoint(path: str, map_location='cpu') -> dict:
    """Load an mm_ssl / mmengine checkpoint with ``weights_only=True`` and return its model state
    dict (the ``state_dict`` entry, or the file itself when it is a bare state dict)."""
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f'{path}: checkpoint file not found') from None
    except Exception as exc:
        raise CheckpointError(f'{path}: cannot read checkpoint ({type(exc).__name__}: '
                              f'{str(exc).splitlines()[0][:200]})') from None
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f'{path}: no state dict of tensors found in the checkpoint')
    return state


def check_matches(model_state: dict, ckpt_state: dict, path: str, prefix: str = '') -> None:
    """Raise :class:`CheckpointError` naming the keys when ``ckpt_state`` lacks a key of
    ``model_state`` that starts with ``prefix``, or holds a tensor of another shape for it."""
    wanted = [k for k in model_state if k.startswith(prefix)]
    missing = [k for k in wanted if k not in ckpt_state]
    wrong = [f'{k}: checkpoint {tuple(ckpt_state[k].shape)} vs model {tuple(model_state[k].shape)}'
             for k in wanted if k in ckpt_state and ckpt_state[k].shape != model_state[k].shape]
    if missing or wrong:
        what = [f'{len(missing)} missing key(s), e.g. {", ".join(missing[:3])}'] if missing else []
        what += [f'{len(wrong)} shape mismatch(es), e.g. {wrong[0]}'] if wrong else []
        raise CheckpointError(f'{path}: does not match the model ({"; ".join(what)})')
