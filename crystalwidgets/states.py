"""Job states shared by the store, the runners, the manager and the widgets."""

from __future__ import annotations

import enum

__all__ = ["JobState", "TERMINAL_STATES"]


class JobState(str, enum.Enum):
    """Where a job is in its life. Values are plain strings (stored as such)."""

    #: Accepted and recorded; waiting for a free slot, a block or a worker.
    PENDING = "pending"
    #: The job body has started on a worker (a process, a thread, a Slurm block).
    RUNNING = "running"
    #: The recipe returned; its result and summary are in the job's work dir.
    COMPLETED = "completed"
    #: The recipe raised, or the engine lost the job; ``error`` says why.
    FAILED = "failed"
    #: Stopped on the user's request; nothing of the job is left running.
    CANCELLED = "cancelled"
    #: No live handle and no result could be found for it (e.g. its process
    #: vanished while no kernel watched it); ``error`` says what was seen.
    ORPHANED = "orphaned"

    def __str__(self) -> str:  # "completed", not "JobState.COMPLETED"
        return self.value

    @property
    def is_terminal(self) -> bool:
        """True when the job will not change state again."""
        return self in TERMINAL_STATES


#: States a job never leaves.
TERMINAL_STATES: frozenset[JobState] = frozenset(
    {JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED, JobState.ORPHANED}
)
