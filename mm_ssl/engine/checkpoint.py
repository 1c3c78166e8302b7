"""The checkpoint hook of every run: atomic saves, pruning after the new checkpoint is safe."""
import os.path as osp
from collections import deque

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from mm_ssl.fileio import atomic_path
from mm_ssl.registry import HOOKS


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
