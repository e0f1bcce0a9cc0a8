"""The kernel's side of the link to running tasks: a TCP listener for the signed lines HTEX
workers send (the worker's side is :class:`~.app.RemoteLink`), and the in-process link of
thread-pool jobs."""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .app import JobCancelled, verify

if TYPE_CHECKING:
    from .runner import ParslRunner

log = logging.getLogger(__name__)


_LISTEN_READ_TIMEOUT_S = 2.0


_MAX_LINE = 16_384


class Listener:
    """Receives the tasks' signed "started" lines on a TCP port (one short connection each)."""

    def __init__(self, bind: str, on_message: Any) -> None:
        self.key = secrets.token_hex(32)
        self._on_message = on_message
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind((bind, 0))
        self._sock.listen(64)
        self._sock.settimeout(0.5)
        self.port = self._sock.getsockname()[1]
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="cw-parsl-listener", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped:
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(_LISTEN_READ_TIMEOUT_S)
                data = b""
                try:
                    while b"\n" not in data and len(data) < _MAX_LINE:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                except OSError:
                    continue
            msg = verify(self.key, data)
            if msg is None:
                continue  # not from one of our tasks: ignored
            try:
                self._on_message(msg)
            except Exception:
                log.exception("handling a task's start message failed")

    def stop(self) -> None:
        self._stopped = True
        self._sock.close()
        self._thread.join(timeout=2)


class ThreadLink:
    """In-process link of a thread-pool job to its runner (see ``app.RemoteLink``)."""

    fork = False

    def __init__(self, runner: ParslRunner) -> None:
        self._runner = weakref.ref(runner)

    def claim(self, job_id: str, work_dir: Path) -> bool:
        runner = self._runner()
        return runner is not None and runner._claim(job_id)

    def started(self, job_id: str, work_dir: Path, info: dict[str, Any]) -> None:
        runner = self._runner()
        if runner is None:
            raise JobCancelled
        runner._thread_started(job_id, info)

    def finished(self, job_id: str) -> None:
        runner = self._runner()
        if runner is not None:
            runner._thread_finished(job_id)
