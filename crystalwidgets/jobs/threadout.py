"""What a job body run in one of the kernel's threads prints goes to its work dir.

A ``parsl-threads`` job runs in the kernel's own process, where ``sys.stdout`` is the
notebook's: without this, 100 MB a recipe prints would land in the notebook and none in
the job's ``cw-stdout.txt``. While :func:`captured` is active in a thread, Python-level
writes to ``sys.stdout`` and ``sys.stderr`` *from that thread* go to the job's
``cw-stdout.txt`` and ``cw-stderr.txt``; every other thread (the kernel's own, other jobs)
keeps writing where it did. ``sys.stdout``/``sys.stderr`` are routed only while at least
one thread job runs.

What cannot be split per thread, because one process has one of each:

- output written straight to file descriptors 1 and 2: C and Fortran libraries, and
  programs the body starts without redirecting them (they write to the kernel's log, as
  before, never to the notebook);
- output of threads the body starts itself (they write where the kernel writes);
- a ``logging.StreamHandler`` created before the job started holds the stream it was
  given, so its records go there.

A job whose output matters in full (a DFT code writing to fd 1, say) belongs on a profile
that runs each job in a process of its own (``local``, ``parsl-local``, ...).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

from .._files import private_append

__all__ = ["captured"]

_local = threading.local()
_lock = threading.Lock()
_active = 0
_installed: dict[str, _Router] = {}


class _Router:
    """Stands in for ``sys.<name>``: the calling thread's job file if it has one, else
    the stream that was there before (every other attribute is that stream's)."""

    def __init__(self, name: str, fallback: Any) -> None:
        self._name = name
        self._fallback = fallback

    def _target(self) -> Any:
        return getattr(_local, self._name, None) or self._fallback

    def write(self, text: str) -> int:
        return self._target().write(text)

    def writelines(self, lines: Any) -> None:
        self._target().writelines(lines)

    def flush(self) -> None:
        self._target().flush()

    def __getattr__(self, attr: str) -> Any:  # fileno, isatty, encoding, set_parent, ...
        return getattr(self._fallback, attr)


def _route(name: str) -> None:
    current = getattr(sys, name)
    if not isinstance(current, _Router):
        router = _Router(name, current)
        _installed[name] = router
        setattr(sys, name, router)


def _unroute(name: str) -> None:
    router = _installed.pop(name, None)
    if router is not None and getattr(sys, name) is router:
        setattr(sys, name, router._fallback)
    # else someone replaced sys.<name> meanwhile (a cell's redirect_stdout): theirs stays;
    # a router they may restore later writes every thread to the old stream


@contextlib.contextmanager
def captured(work_dir: str | os.PathLike, stdout: str, stderr: str) -> Iterator[None]:
    """Route this thread's ``sys.stdout``/``sys.stderr`` writes into ``work_dir``.

    Parameters
    ----------
    work_dir
        The job's work dir.
    stdout, stderr
        File names there, appended to (created 0600), line-buffered so the job table's
        output tail follows the job as it runs.
    """
    global _active
    with contextlib.ExitStack() as files:
        out = files.enter_context(
            private_append(os.path.join(work_dir, stdout), "a", buffering=1, encoding="utf-8", errors="replace")
        )
        err = files.enter_context(
            private_append(os.path.join(work_dir, stderr), "a", buffering=1, encoding="utf-8", errors="replace")
        )
        previous = getattr(_local, "stdout", None), getattr(_local, "stderr", None)
        with _lock:
            if _active == 0:
                _route("stdout")
                _route("stderr")
            _active += 1
        _local.stdout, _local.stderr = out, err
        try:
            yield
        finally:
            _local.stdout, _local.stderr = previous
            with _lock:
                _active -= 1
                if _active == 0:
                    _unroute("stdout")
                    _unroute("stderr")
