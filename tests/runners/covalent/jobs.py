"""Job functions of the Covalent tests (a module the executor cannot import: they travel by value)."""

from __future__ import annotations

import os
import subprocess
import time


def busy_job(atoms, seconds: float = 60.0, marker: str | None = None):
    """Starts a child process (``sleep``), writes ``pid child_pid`` to ``marker``, runs ``seconds``."""
    child = subprocess.Popen(["sleep", str(int(seconds) + 30)])
    if marker:
        with open(marker + ".tmp", "w") as fh:
            fh.write(f"{os.getpid()} {child.pid}")
        os.replace(marker + ".tmp", marker)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.05)
    child.kill()
    child.wait()
    return seconds
