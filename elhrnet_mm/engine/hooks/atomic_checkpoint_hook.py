"""CheckpointHook whose files a crash can never leave half-written.

MMEngine's :class:`~mmengine.hooks.CheckpointHook` writes ``epoch_N.pth`` in
place and, with ``max_keep_ckpts``, deletes the oldest checkpoint *before*
writing the new one. A run killed while writing can therefore leave a
truncated newest file and (with ``max_keep_ckpts=1``) no intact one at all;
``last_checkpoint`` is also rewritten in place.
"""
import os.path as osp
from contextlib import contextmanager
from typing import Iterator, List

from mmengine.dist import get_rank, get_world_size, is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmpose.registry import HOOKS

from ..atomic_files import PARTIAL_SUFFIX, publish, write_text_atomic
from ..rng_state import gather_rng_states, set_rng_state

#: Key under a checkpoint's ``meta`` holding every rank's generator states.
RNG_STATES_KEY = 'rng_states'


class _DeferringBackend:
    """A file backend whose ``remove`` only records the path."""

    def __init__(self, backend):
        self._backend = backend
        self.removals: List[str] = []

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def remove(self, path: str) -> None:
        self.removals.append(path)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """:class:`~mmengine.hooks.CheckpointHook` with crash-safe files and
    exact resume.

    Same arguments and file names as ``CheckpointHook``. For local
    directories each periodic (and ``save_last``) checkpoint is

    1. written to ``<name>.partial`` (all ranks' random-generator states are
       stored in its ``meta['rng_states']``),
    2. fsync'ed and atomically renamed to ``<name>``,
    3. only then recorded in ``work_dir/last_checkpoint`` (itself replaced
       atomically), which is what ``--resume`` reads,
    4. and only then are checkpoints beyond ``max_keep_ckpts`` deleted.

    A kill at any point leaves ``last_checkpoint`` naming a complete file.
    On resume the generator states of the checkpoint are restored at
    ``before_train`` so the resumed run draws the same augmentations as an
    uninterrupted one (exact only with ``num_workers=0`` or non-persistent
    workers: worker generators are re-seeded per epoch by MMEngine, those of
    persistent workers are not saved).

    Best checkpoints (``save_best``) are written the same way: the new
    ``best_*.pth`` goes through ``.partial`` and a rename, and the previous
    best is deleted only after that (``CheckpointHook`` deletes it first, so a
    kill in between leaves no best checkpoint at all).

    Remote backends (``backend_args`` for S3, Petrel, ...) write objects
    whole; for them this hook behaves exactly like ``CheckpointHook``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._resumed_rng_states = None
        self._resumed_iter = None

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not isinstance(self.file_backend, LocalBackend):
            return super()._save_checkpoint_with_step(runner, step, meta)
        outdated = self._rotate(runner, step)
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        meta[RNG_STATES_KEY] = gather_rng_states()
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename + PARTIAL_SUFFIX,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        publish(self.last_ckpt + PARTIAL_SUFFIX, self.last_ckpt)
        write_text_atomic(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for path in outdated:
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # DeepSpeed checkpoints
                self.file_backend.rmtree(path)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if not isinstance(self.file_backend, LocalBackend):
            return super()._save_best_checkpoint(runner, metrics)
        with self._publishing_saves(runner), self._deferred_removals():
            super()._save_best_checkpoint(runner, metrics)

    @contextmanager
    def _publishing_saves(self, runner) -> Iterator[None]:
        """Route ``runner.save_checkpoint`` through ``.partial`` + rename.

        Saves already aimed at a ``.partial`` file (those of
        :meth:`_save_checkpoint_with_step`) pass through unchanged.
        """
        save = runner.save_checkpoint

        def save_then_publish(out_dir, filename, *args, **kwargs):
            if filename.endswith(PARTIAL_SUFFIX):
                return save(out_dir, filename, *args, **kwargs)
            save(out_dir, filename + PARTIAL_SUFFIX, *args, **kwargs)
            if is_main_process():
                path = self.file_backend.join_path(out_dir, filename)
                publish(path + PARTIAL_SUFFIX, path)

        shadowed = vars(runner).get('save_checkpoint')
        runner.save_checkpoint = save_then_publish
        try:
            yield
        finally:
            if shadowed is None:
                del runner.save_checkpoint  # the class's method again
            else:
                runner.save_checkpoint = shadowed

    @contextmanager
    def _deferred_removals(self) -> Iterator[None]:
        """Hold back file deletions until the block has written its files.

        A kill inside the block leaves the old files in place; nothing is
        deleted if the block raises.
        """
        backend = self.file_backend
        self.file_backend = deferring = _DeferringBackend(backend)
        try:
            yield
        finally:
            self.file_backend = backend
        for path in deferring.removals:
            if backend.isfile(path):
                backend.remove(path)

    def _rotate(self, runner, step: int) -> List[str]:
        """Book ``step`` in ``keep_ckpt_ids``; return the paths it evicts.

        The bookkeeping of ``CheckpointHook``, minus the deletion, which
        :meth:`_save_checkpoint_with_step` does after the new file is safe.
        """
        if self.max_keep_ckpts <= 0 or (self.keep_ckpt_ids
                                        and self.keep_ckpt_ids[-1] == step):
            return []
        outdated = []
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            old = self.keep_ckpt_ids.popleft()
            outdated.append(
                self.file_backend.join_path(self.out_dir,
                                            self.filename_tmpl.format(old)))
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids',
                                       list(self.keep_ckpt_ids))
        return outdated

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Remember the checkpoint's generator states for ``before_train``.

        Restoring here would be undone: ``Runner.resume`` re-seeds after
        loading when the configured seed differs from the checkpoint's.
        """
        meta = checkpoint.get('meta', {})
        self._resumed_rng_states = meta.get(RNG_STATES_KEY)
        self._resumed_iter = meta.get('iter')

    def before_train(self, runner) -> None:
        super().before_train(runner)
        states, self._resumed_rng_states = self._resumed_rng_states, None
        # a resume sets runner.iter to the checkpoint's; loading weights for
        # fine-tuning (load_from without resume) leaves it at 0
        if not states or not runner.iter or runner.iter != self._resumed_iter:
            return
        if len(states) != get_world_size():
            runner.logger.warning(
                f'The checkpoint holds random-generator states of '
                f'{len(states)} processes but this run has '
                f'{get_world_size()}; generators keep their seeded state, '
                'so augmentations will differ from an uninterrupted run.')
            return
        set_rng_state(states[get_rank()])
        runner.logger.info('Restored the random-generator states saved with '
                           f'the checkpoint at iteration {runner.iter}.')
