"""Which recipes can run on this machine, found out of the kernel's process."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

__all__ = ["availability"]

# availability needs each recipe module imported: done once per kernel, in a subprocess
_AVAILABILITY: dict[str, str | None] | None = None
_AVAILABILITY_LOCK = threading.Lock()
_AVAILABILITY_SCRIPT = (
    "import json, logging; logging.disable(logging.CRITICAL)\n"
    "from crystalwidgets.recipes import recipes\n"
    "print(json.dumps({i.name: i.unavailable_reason for i in recipes}))"
)


def availability(timeout: float = 180) -> dict[str, str | None]:
    """Which recipes can run here: ``{name: None}`` when available, else the reason.

    Telling needs every recipe module imported (4-5 s, ~300 MB), so it is done once per
    process, in a subprocess, and cached; blocking: call it from a worker thread.

    Raises
    ------
    subprocess.TimeoutExpired
        When the subprocess did not answer within ``timeout`` seconds.
    """
    global _AVAILABILITY
    with _AVAILABILITY_LOCK:
        if _AVAILABILITY is None:
            out = subprocess.run(
                [sys.executable, "-c", _AVAILABILITY_SCRIPT],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            _AVAILABILITY = json.loads(out.stdout.strip().splitlines()[-1])
        return _AVAILABILITY
