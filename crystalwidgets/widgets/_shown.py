"""The structure and the steps a job's details show, read without blocking the kernel."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .._loop import call_in_kernel, running_loop

__all__ = ["READING_NOTE", "display_structure_soon", "frames_soon"]

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


def frames_soon(manager: Any, job_id: str, then: Callable[[Any, str | None], None]) -> None:
    """Call ``then(frames, note)`` on the kernel's loop once a worker thread has read the
    job's trajectory (:meth:`JobManager.frames`: None without one; ``note`` says why it
    could not be read, else None). Never on the kernel's thread: frames of a big structure
    are megabytes, and an old job's are first made from its result in a child process.
    """
    loop = running_loop()

    def work() -> None:
        try:
            frames, note = manager.frames(job_id), None
        except Exception as exc:  # noqa: BLE001 - a damaged file: said, the rest is shown
            frames, note = None, f"its steps cannot be shown: {exc}"
        call_in_kernel(loop, then, frames, note)

    threading.Thread(target=work, name="cw-frames", daemon=True).start()
