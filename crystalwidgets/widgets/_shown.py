"""The structure a job's details show, read without blocking the kernel."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .._loop import call_in_kernel, running_loop

__all__ = ["READING_NOTE", "display_structure_soon"]

#: The note shown while a job's final structure is read from its (old, big) result.
READING_NOTE = "reading the final structure from the job's result…"


def display_structure_soon(
    manager: Any, job_id: str, then: Callable[[Any, str | None, str | None, bool], None]
) -> bool:
    """Call ``then(atoms, which, note, late)`` with :meth:`JobManager.display_structure`.

    At once when the manager can answer at once (``late`` False; returns True); else
    from a worker thread, on the kernel's loop, once a child process has read the final
    structure out of the job's result (``late`` True; returns False): the kernel's
    thread never reads a big result.
    """
    if manager.final_structure_ready(job_id):
        then(*manager.display_structure(job_id), False)
        return True
    loop = running_loop()

    def work() -> None:
        call_in_kernel(loop, then, *manager.display_structure(job_id), True)

    threading.Thread(target=work, name="cw-final-structure", daemon=True).start()
    return False
