"""Reading checkpoints safely, and writing them so that a kill at any moment loses nothing."""
import errno
import os
import os.path as osp
import pickle
import re
from collections import deque
from contextlib import contextmanager

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from mm_ssl.errors import CheckpointError, OutputError
from mm_ssl.registry import HOOKS

# errno values that mean "this disk cannot take the write"
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES,
                          errno.EPERM})
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


@contextmanager
def atomic_path(path: str):
    """Yields a temporary name beside ``path`` to write to; once the block succeeds, the file is
    flushed to disk and renamed onto ``path``, and the rename itself made durable. ``path`` thus
    holds its old content or the complete new one, never a part, even if the process is killed
    or the machine loses power mid-write (a killed write leaves ``<path>.tmp`` behind).

    A write the disk refuses (full, read-only, over quota) raises :class:`OutputError` naming
    ``path``."""
    tmp = f'{path}.tmp'
    try:
        yield tmp
    except BaseException as exc:
        if osp.lexists(tmp):
            os.remove(tmp)
        if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
            kept = 'its previous content is kept' if osp.exists(path) else 'nothing was written'
            raise OutputError(f'{path}: cannot write ({exc.strerror}); {kept}') from exc
        raise
    with open(tmp, 'rb') as f:
        os.fsync(f.fileno())   # on the inode: also flushes what another handle wrote
    os.replace(tmp, path)
    directory = os.open(osp.dirname(osp.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@HOOKS.register_module(name=['CheckpointHook', 'AtomicCheckpointHook'])
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (configs name it ``CheckpointHook``; in the ``mm_ssl`` scope
    they get this one), made safe to kill at any moment:

    - checkpoints are written atomically (:meth:`SSLRunner.save_checkpoint`), the
      ``last_checkpoint`` marker too (:func:`atomic_path`);
    - checkpoints beyond ``max_keep_ckpts`` are removed after the new one and the marker are in
      place; mmengine removes first, so with ``max_keep_ckpts=1`` a kill during the save left
      no checkpoint at all.
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self.max_keep_ckpts > 0:
            # mmengine keeps the ids in a deque(maxlen=max_keep_ckpts), which drops the oldest id
            # by itself on append: the pruning below would never see an expired checkpoint
            self.keep_ckpt_ids = deque(self.keep_ckpt_ids)

    def _save_checkpoint_with_step(self, runner, step, meta):
        expired = []
        if self.max_keep_ckpts > 0 and (not self.keep_ckpt_ids or self.keep_ckpt_ids[-1] != step):
            self.keep_ckpt_ids.append(step)
            while len(self.keep_ckpt_ids) > self.max_keep_ckpts:
                expired.append(self.keep_ckpt_ids.popleft())
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir, filename, self.file_client_args, save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta, by_epoch=self.by_epoch,
            backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        with atomic_path(osp.join(runner.work_dir, 'last_checkpoint')) as tmp:
            with open(tmp, 'w') as f:
                f.write(self.last_ckpt)
        for old_step in expired:
            old = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old_step))
            if self.file_backend.isfile(old):
                self.file_backend.remove(old)
            elif self.file_backend.isdir(old):   # deepspeed saves directories
                self.file_backend.rmtree(old)
