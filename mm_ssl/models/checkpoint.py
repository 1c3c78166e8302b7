"""Reading checkpoints safely (``weights_only``) and checking them against a model."""
import os.path as osp
import pickle
import re

import torch

from mm_ssl.errors import CheckpointError

__all__ = ['read_checkpoint', 'check_matches']

# what torch.save writes: a zip archive, or a pickle (protocol >= 2 starts with PROTO 0x80)
ZIP_MAGIC, PICKLE_PROTO = b'PK\x03\x04', b'\x80'


def read_checkpoint(path: str, map_location='cpu') -> dict:
    """Load an mm_ssl / mmengine checkpoint with ``weights_only=True`` and return its model state
    dict (the ``state_dict`` entry, or the file itself when it is a bare state dict).

    An empty file or one that is neither a zip archive (``torch.save``) nor a pickle (torch's
    legacy format) raises :class:`CheckpointError` saying so, before torch reads it."""
    _check_checkpoint_file(path)
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f'{path}: checkpoint file not found') from None
    except pickle.UnpicklingError as exc:
        # torch's message leads with how to turn the check off; name the object instead
        unsafe = re.search(r'Unsupported global: GLOBAL (\S+)', str(exc))
        if not unsafe:
            detail = re.search(r'WeightsUnpickler error:\s*(\S.*?)\s*(\n\n|$)', str(exc), re.S)
            raise CheckpointError(f'{path}: cannot read checkpoint (not a torch checkpoint, or a '
                                  f'damaged one: {detail[1] if detail else exc})') from None
        raise CheckpointError(f'{path}: refused: the checkpoint holds a pickled {unsafe[1]}, '
                              'which could run code (checkpoints are loaded with '
                              'weights_only=True: tensors and plain data only)') from None
    except Exception as exc:
        detail = (str(exc).strip().splitlines() or [''])[0][:200]
        raise CheckpointError(f'{path}: cannot read checkpoint ({type(exc).__name__}'
                              f'{": " + detail if detail else ""})') from None
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f'{path}: no state dict of tensors found in the checkpoint')
    return state


def _check_checkpoint_file(path: str) -> None:
    if not osp.isfile(path):
        raise CheckpointError(f'{path}: checkpoint file not found')
    with open(path, 'rb') as f:
        head = f.read(4)
    if not head:
        raise CheckpointError(f'{path}: the checkpoint file is empty (0 bytes): a save that '
                              'never finished, or a file truncated by a copy')
    if head != ZIP_MAGIC and head[:1] != PICKLE_PROTO:
        raise CheckpointError(f'{path}: not a checkpoint (a torch checkpoint is a zip archive or '
                              f'a pickle; this file starts with {head!r})')


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
