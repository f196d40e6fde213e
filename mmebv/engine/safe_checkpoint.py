"""A CheckpointHook whose checkpoints survive the process being killed.

mmengine's ``CheckpointHook`` writes a checkpoint in place and, with
``max_keep_ckpts`` or ``save_best``, deletes the older checkpoint *before*
the new one is written. A run killed while writing is then left with a
truncated newest checkpoint and no older one, and ``--resume`` fails.

:class:`SafeCheckpointHook` keeps all of the parent's arguments and logic and
changes only the order and the manner of the writes:

* every checkpoint (periodic and best) is written to a temporary file in its
  folder, fsynced and renamed into place (``os.replace``), and the folder
  fsynced (:func:`mmebv.fileio.atomic_file`), through the storage backend
  :class:`AtomicLocalBackend`;
* the ``last_checkpoint`` pointer, which ``--resume`` reads, is written the
  same way, after the checkpoint it names is complete;
* an older checkpoint (``max_keep_ckpts``, previous best) is deleted only
  after the new one and the pointer are in place.

A killed run leaves at worst a ``.tmp-*.partial`` file, which no pointer
names; the next run deletes it. Remote storage (an ``out_dir`` URI,
``backend_args`` or ``file_client_args``) cannot be renamed atomically: the
hook warns and behaves exactly as ``CheckpointHook`` there.
"""
import glob
import logging
import os
import os.path as osp
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Optional, Union

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.registry import HOOKS

from mmebv.fileio import atomic_file

if TYPE_CHECKING:
    from mmengine.runner import Runner

#: Name of :class:`AtomicLocalBackend` in mmengine's storage backends.
ATOMIC_BACKEND = 'mmebv_atomic_local'
#: Temporary files end with this (``.tmp-<random>.<name>.partial``).
PARTIAL_SUFFIX = '.partial'


def _partial_suffix(path: Union[str, Path]) -> str:
    """The temporary-file suffix for ``path``.

    Args:
        path (str | Path): The file about to be written.

    Returns:
        str: ``.<name of path>.partial``, so that a leftover names what it
        was for and never ends in ``.pth``.
    """
    return f'.{osp.basename(str(path))}{PARTIAL_SUFFIX}'


class AtomicLocalBackend(LocalBackend):
    """Local storage whose writes appear whole or not at all.

    ``put`` and ``put_text`` write a temporary file next to the target,
    fsync it, rename it over the target and fsync the folder; reads are
    :class:`mmengine.fileio.LocalBackend`'s.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write ``obj`` to ``filepath`` atomically.

        Args:
            obj (bytes): Data to write.
            filepath (str | Path): Target file; its folder is created.
        """
        with atomic_file(str(filepath), _partial_suffix(filepath)) as tmp:
            super().put(obj, tmp)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write the text ``obj`` to ``filepath`` atomically.

        Args:
            obj (str): Text to write.
            filepath (str | Path): Target file; its folder is created.
            encoding (str): Text encoding. Defaults to 'utf-8'.
        """
        with atomic_file(str(filepath), _partial_suffix(filepath)) as tmp:
            super().put_text(obj, tmp, encoding=encoding)


register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)


class _DeferredRemovals:
    """A file backend whose ``remove`` / ``rmtree`` are recorded, to be done
    by :meth:`flush` once the new files are in place; everything else is
    the wrapped backend's."""

    def __init__(self, backend) -> None:
        self._backend = backend
        self.paths: List[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def remove(self, filepath: Union[str, Path]) -> None:
        self.paths.append(str(filepath))

    def rmtree(self, dir_path: Union[str, Path]) -> None:
        self.paths.append(str(dir_path))


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """``CheckpointHook`` with crash-safe writes and deletions.

    Same arguments and behaviour as :class:`mmengine.hooks.CheckpointHook`
    (``interval``, ``by_epoch``, ``max_keep_ckpts``, ``save_best``, ``rule``,
    ``save_last``, local ``out_dir``, ...), but a checkpoint or the
    ``last_checkpoint`` pointer is never seen half-written, and the
    checkpoint it replaces is deleted only once the new one is complete and
    the pointer names it. Works with :class:`mmengine.runner.Runner`
    (whose ``save_checkpoint`` writes one file, from the main process).

    With remote storage (``out_dir`` containing ``'://'``, ``backend_args``
    or ``file_client_args``) it warns and falls back to the parent's
    behaviour. Copies made for ``published_keys`` after training are
    written as the parent writes them.

    Args:
        *args: Positional arguments of ``CheckpointHook``.
        **kwargs: Keyword arguments of ``CheckpointHook``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        remote = (self.backend_args is not None
                  or self.file_client_args is not None
                  or (self.out_dir is not None and '://' in str(self.out_dir)))
        self.atomic = not remote
        if self.atomic:
            # Runner.save_checkpoint writes through this backend.
            self.backend_args = dict(backend=ATOMIC_BACKEND)
        else:
            message = ('SafeCheckpointHook: with backend_args, '
                       'file_client_args or a URI out_dir, files cannot be '
                       'renamed atomically; checkpoints are written as '
                       'CheckpointHook writes them (in place, the older one '
                       'deleted first).')
            warnings.warn(message)
            print_log(message, logger='current', level=logging.WARNING)

    def before_train(self, runner: 'Runner') -> None:
        """Set up as the parent does, then delete the temporary files a
        killed run left in the checkpoint folder and the work dir.

        Args:
            runner (Runner): The runner of the training process.
        """
        super().before_train(runner)
        if not (self.atomic and is_main_process()):
            return
        for folder in {str(self.out_dir), str(runner.work_dir)}:
            pattern = osp.join(glob.escape(folder), f'.tmp-*{PARTIAL_SUFFIX}')
            for leftover in sorted(glob.glob(pattern)):
                if osp.isfile(leftover):
                    os.remove(leftover)
                    runner.logger.info(
                        f'Removed {leftover}, a checkpoint left unfinished '
                        'by an interrupted run.')

    def _save_checkpoint_with_step(self, runner: 'Runner', step: int,
                                   meta: dict) -> None:
        """Save the checkpoint of ``step``, then point ``last_checkpoint``
        at it, then delete the checkpoint ``max_keep_ckpts`` drops.

        Args:
            runner (Runner): The runner of the training process.
            step (int): Epoch or iteration number in the file name.
            meta (dict): Meta information saved in the checkpoint.
        """
        if not self.atomic:
            super()._save_checkpoint_with_step(runner, step, meta)
            return
        dropped: Optional[int] = None
        # _save_checkpoint and _save_best_checkpoint may both save one step.
        if self.max_keep_ckpts > 0 and not (
                self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                dropped = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        pointer = osp.join(runner.work_dir, 'last_checkpoint')
        with atomic_file(pointer, _partial_suffix(pointer)) as tmp:
            with open(tmp, 'w') as f:
                f.write(self.last_ckpt)  # type: ignore
        if dropped is not None:
            self._remove(self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(dropped)))

    def _save_best_checkpoint(self, runner: 'Runner',
                              metrics: dict) -> None:
        """Save the best checkpoint as the parent does, but delete the
        previous best only once the new one (and the periodic checkpoint
        that records it) is saved; on an error nothing is deleted.

        Args:
            runner (Runner): The runner of the training process.
            metrics (dict): Evaluation results of all metrics.
        """
        if not self.atomic:
            super()._save_best_checkpoint(runner, metrics)
            return
        backend = self.file_backend
        deferred = _DeferredRemovals(backend)
        self.file_backend = deferred
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = backend
        for path in deferred.paths:
            self._remove(path)

    def _current_checkpoints(self) -> List[str]:
        """The checkpoints the hook currently points at.

        Returns:
            list[str]: The last checkpoint and the best one(s), if any.
        """
        current = [self.last_ckpt]
        current.append(getattr(self, 'best_ckpt_path', None))
        current.extend(getattr(self, 'best_ckpt_path_dict', {}).values())
        return [str(p) for p in current if p]

    def _remove(self, path: str) -> None:
        """Delete the checkpoint ``path`` (a file, or a folder as DeepSpeed
        writes), unless it is one the hook still points at.

        Args:
            path (str): The checkpoint to delete.
        """
        if not is_main_process() or path in self._current_checkpoints():
            return
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            self.file_backend.rmtree(path)
