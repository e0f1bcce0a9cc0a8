"""The structures a user loaded, kept across kernels in the job store.

Each is kept once, by content hash, in the store's structures (the table jobs use), with
its label, provenance and when it was last loaded; only the newest :data:`RECENT_MAX`
are kept. Recording runs in a worker thread (:meth:`RecentStructures.remember`): hashing
and encoding never hold the kernel's thread, and a batch is one transaction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import CrystalWidgetsError
from ..structures.codec import structure_from_dict, structure_hash, structure_to_dict
from ..structures.formula import reduced_formula
from .store import JobStore, LoadedStructure

__all__ = ["RECENT_MAX", "RecentStructures"]

#: How many loaded structures are kept (the newest).
RECENT_MAX = 50


class RecentStructures:
    """The structures loaded into Apps on one store, newest first.

    Parameters
    ----------
    store : JobStore
        The store keeping them (a :class:`~crystalwidgets.JobManager`'s ``store``).
    keep : int
        How many to keep (default :data:`RECENT_MAX`).
    """

    def __init__(self, store: JobStore, keep: int = RECENT_MAX) -> None:
        self.store = store
        self.keep = keep
        self._lock = threading.Lock()  # one batch at a time

    def remember(
        self,
        entries: Sequence[tuple[Any, str, str]],
        *,
        wait: bool = False,
        done: Callable[[str | None], None] | None = None,
    ) -> threading.Thread | None:
        """Record ``(atoms, label, provenance)`` entries loaded now, in a worker thread.

        Only the last :attr:`keep` of a batch are recorded (the rest would be dropped at
        once). The atoms are copied here, so later changes to them do not leak in.

        Parameters
        ----------
        entries
            The structures just loaded, oldest first.
        wait : bool
            Record before returning (scripts, tests) instead of in a worker thread.
        done : callable, optional
            Called in the worker thread once recorded, with None or the error's text
            (never lost in the thread).

        Returns
        -------
        threading.Thread or None
            The worker thread (None with ``wait`` or nothing to record).
        """
        now = time.time()
        batch = [
            (atoms.copy(), str(label), str(provenance), now + i * 1e-6)  # keeps their order
            for i, (atoms, label, provenance) in enumerate(entries[-self.keep :])
        ]
        if not batch:
            return None
        if wait:
            self._record(batch)
            return None
        thread = threading.Thread(target=self._record_reported, args=(batch, done), name="cw-recent", daemon=True)
        thread.start()
        return thread

    def _record_reported(self, batch: list[tuple[Any, str, str, float]], done: Callable[[str | None], None] | None) -> None:
        error = None
        try:
            self._record(batch)
        except Exception as exc:  # noqa: BLE001 - reported to the caller, never lost in a thread
            error = f"could not keep {len(batch)} loaded structure(s) for later kernels: {exc}"
        if done is not None:
            done(error)

    def _record(self, batch: list[tuple[Any, str, str, float]]) -> None:
        rows, data = [], {}
        for atoms, label, provenance, at in batch:
            digest = structure_hash(atoms)
            data.setdefault(digest, structure_to_dict(atoms))
            rows.append(LoadedStructure(digest, label, provenance, reduced_formula(atoms), len(atoms), at))
        with self._lock:
            self.store.remember_loaded(rows, data, self.keep)

    def list(self, limit: int | None = None) -> list[LoadedStructure]:
        """The loaded structures kept, newest first."""
        return self.store.loaded_structures(limit if limit is not None else self.keep)

    def load(self, digest: str) -> Any:
        """The structure kept under ``digest`` as ASE Atoms.

        Raises
        ------
        CrystalWidgetsError
            When it is not kept (forgotten, maybe by another kernel).
        """
        data = self.store.get_structure(digest)
        if data is None:
            raise CrystalWidgetsError(
                f"structure {digest[:12]} is no longer kept (forgotten, maybe in another kernel); load it anew"
            )
        return structure_from_dict(data)

    def forget(self, *digests: str) -> None:
        """Take structures off the list, one transaction (their data stays while a job uses it)."""
        with self._lock:
            self.store.forget_loaded(digests)
