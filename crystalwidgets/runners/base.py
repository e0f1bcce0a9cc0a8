"""The one protocol every runner (local processes, Parsl, Dask, ...) implements.

A runner owns the engine side of jobs. It never blocks its caller: ``submit``
and ``cancel`` return at once and the runner reports every transition later
by calling ``emit`` with a :class:`JobEvent`, from whatever thread the engine
uses. The :class:`~crystalwidgets.JobManager` turns those events into store
updates and change notifications on the kernel's loop.

A job is handed over as a :class:`Task`: its id and its work dir, which holds
everything the job body needs (written by :func:`crystalwidgets.jobs.task.write_input`)
and receives everything it produces (see :mod:`crystalwidgets.jobs.task`).
"""

from __future__ import annotations

import abc
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from ..errors import ProfileError
from ..jobs.events import Emit, JobEvent, Task
from ..states import JobState

__all__ = ["Runner"]


class Runner(abc.ABC):
    """Base class of runners. Subclasses set ``kind`` and implement the methods.

    Parameters
    ----------
    profile
        The validated profile this runner serves.
    emit
        Thread-safe callback receiving every :class:`JobEvent`.
    run_dir
        A private directory for the runner's own files (engine logs, run dirs).
    """

    #: Name stored in each record's ``runner`` column.
    kind: ClassVar[str]

    def __init__(self, profile: Any, emit: Emit, run_dir: Path) -> None:
        self.profile = profile
        self.emit = emit
        self.run_dir = run_dir
        self._profile_passed = False

    @classmethod
    def stop_leftovers(cls, runners_dir: Path) -> None:
        """Stop what engines of kernels that died left running under ``runners_dir``.

        Called by every new manager, in a thread of its own, with ``<home>/runners``; it
        must leave alone what live kernels run. The default has nothing to stop.
        """

    @classmethod
    def leftover_blocks(cls, runners_dir: Path) -> list[dict[str, Any]]:
        """Batch jobs (e.g. Slurm blocks) that engines of kernels that ended left queued or running.

        What a new manager cannot stop on its own, because they may still be finishing a job,
        so the user is asked (the ClusterPicker lists them). Each: ``job_id``, ``name``,
        ``state``, ``reason``, ``profile``. Must be bounded (scheduler calls with timeouts).
        The default has none.
        """
        return []

    @classmethod
    def cleanup_leftovers(cls, runners_dir: Path) -> list[str]:
        """Cancel the :meth:`leftover_blocks` (and what their dead engines left); their ids."""
        return []

    @abc.abstractmethod
    def submit(self, task: Task) -> None:
        """Start (or queue) ``task``; return at once. Report progress through ``emit``."""

    def preflight(self) -> None:
        """Refuse, before anything is recorded, a profile that cannot run any job.

        Called by the manager before it records a submit or a sweep, so a refused submit
        leaves the store and the results dir unchanged. Raises
        :class:`~crystalwidgets.errors.ProfileError` naming each field and its fix. A runner
        may remember that its profile passed. The default checks nothing.
        """

    def check_profile_once(self) -> None:
        """What engine runners' :meth:`preflight` share: the profile's own ``preflight()``
        problems raised as one :class:`~crystalwidgets.errors.ProfileError` (each problem
        ``field: message`` keyed by its field), asked until they pass once; never asked when
        the profile's ``preflight_on_submit`` is off."""
        if self._profile_passed or not getattr(self.profile, "preflight_on_submit", True):
            return
        problems = self.profile.preflight()
        if problems:
            raise ProfileError(
                f"profile {self.profile.name!r} cannot run jobs:\n- " + "\n- ".join(problems),
                [tuple(p.split(": ", 1)) if ": " in p else ("profile", p) for p in problems],
            )
        self._profile_passed = True

    @abc.abstractmethod
    def cancel(self, job_id: str) -> None:
        """Stop the job for good; emit CANCELLED once nothing of it runs any more.

        A job that already finished is left as it is. Returns at once.
        """

    @abc.abstractmethod
    def reattach(self, records: Iterable[Any]) -> None:
        """Take over non-terminal jobs recorded by an earlier (now gone) manager.

        For each record: emit the outcome when the job finished meanwhile, watch it
        when it still runs, or emit ORPHANED with the reason when neither is true.
        """

    def poll(self) -> None:
        """Check what cannot call back (called from the manager's monitor, off the loop).

        Emits ``last_checked`` for every job checked, and any state change seen.
        The default does nothing: runners whose engine calls back need no polling.
        """

    def emit_outcome(
        self, job_id: str, work_dir: str | os.PathLike, outcome: dict[str, Any] | None = None
    ) -> bool:
        """Emit the outcome the job body wrote in ``work_dir``; False when there is none yet.

        ``outcome``: the one the body returned in this process, when it did (not read again).
        """
        from ..jobs.task import read_outcome

        if outcome is None:
            outcome = read_outcome(work_dir)
        if outcome is None:
            return False
        fields = {k: outcome.get(k) for k in ("started", "finished", "summary", "error")}
        self.emit(JobEvent(job_id, JobState(outcome["state"]), fields))
        return True

    def _emit(self, job_id: str, state: JobState | None = None, **fields: Any) -> None:
        """``emit`` a :class:`JobEvent` of ``job_id`` (a state change and/or record fields)."""
        self.emit(JobEvent(job_id, state, fields))

    def blocks(self) -> list[dict[str, Any]]:
        """The engine's blocks (batch jobs, worker pools) as last seen, JSON-able.

        Each: ``block`` (the engine's id), ``job_id`` (the scheduler's, or a pid),
        ``state``, ``reason``, ``nodes``, ``never_starts``. The default: none (jobs
        run where the kernel is).
        """
        return []

    def health(self) -> dict[str, Any]:
        """A JSON-able summary for the ClusterPicker: ``profile``, ``kind``, ``engine``
        (its state), ``blocks`` (:meth:`blocks`), ``checked`` (epoch seconds of the last
        look), ``jobs_waiting``, ``jobs_running``, ``problem`` (the last one, or None).

        The default, for runners without blocks, is ``{}``: nothing to show.
        """
        return {}

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Release engine resources. Jobs that can outlive the kernel are left running."""
