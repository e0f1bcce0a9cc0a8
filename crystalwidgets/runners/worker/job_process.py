"""The job process of an engine's worker: where its jobs run, one at a time, killable alone.

A worker (Parsl's HTEX, Dask's) that runs a job itself cannot stop it without dying (neither has
a real task cancellation), and a job that starts processes of its own (``mpirun``)
would leave them behind. So each worker forks, at its first job, a copy of
itself in a session of its own: the job process. It receives the work dirs of
the worker's jobs over a pipe, runs each with :func:`crystalwidgets.jobs.task.run`
(stdout and stderr into the job's own files) and answers with the final state.

- **Cancel** kills the job process's group: the job and everything it started.
  The worker sees it die, reports the job cancelled, and forks a new job
  process for its next job. The worker and its block are never touched.
- **Warm and cheap.** The worker imports quacc and the recipe's module before
  it forks, so the job process starts warm; later jobs reuse it. A fork per
  job (what this replaced) cost the fork of a ~220 MB process plus its
  copy-on-write faults: 26 ms on every EMT job here (15 ms -> 41 ms).
- **Ends with its worker.** When the worker goes, the request pipe closes and
  the job process exits after the job it is running, if any.

Like Parsl's own workers, a job process runs many jobs in turn: a recipe that
changes process-wide state (environment variables, signal handlers) changes it
for the later jobs of that worker too; the working directory is restored after
each job.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from ..._procs import KILL_GRACE_S, kill_group, started_at

__all__ = ["JobProcess"]

#: How often the worker looks for the cancel flag while a job runs (seconds).
_WATCH_S = 0.5
#: Exit code of a job process whose job raised past the job body (e.g. SystemExit).
_CRASHED = 70


class JobProcess:
    """The worker's side of its job process (see the module docstring).

    Parameters
    ----------
    cancel_flag
        File name that, when it appears in the running job's work dir, cancels it.
    """

    def __init__(self, cancel_flag: str) -> None:
        self.cancel_flag = cancel_flag
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the job process
            code = _CRASHED
            try:
                os.setsid()
                os.close(req_w)
                os.close(rep_r)
                for sig in (signal.SIGTERM, signal.SIGINT):
                    signal.signal(sig, signal.SIG_DFL)  # a cancel ends it, whatever the worker set
                _serve(req_r, rep_w)
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(req_r)
        os.close(rep_w)
        self.pid = pid
        self.create_time = started_at(pid)
        self._request = req_w
        self._reply = rep_r
        self._status: int | None = None  # wait status once reaped
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self._pidfd = None

    def alive(self) -> bool:
        """True while the job process runs (reaps it when it ended)."""
        if self._status is None:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self._status = status
        return self._status is None

    def run(self, work_dir: Path) -> dict[str, Any]:
        """Run the job in ``work_dir``; wait for it while watching its cancel flag.

        Returns ``{"state": "completed" | "failed"}`` from the job body, or, when
        the job process died: ``cancelled`` (killed after the flag appeared;
        ``ran`` True), ``killed`` (a signal nobody here sent; ``signal`` names
        it) or ``failed`` with its ``exit_code``.
        """
        try:
            os.write(self._request, f"{work_dir}\n".encode())
        except BrokenPipeError:  # it died since the caller looked
            return self._ended(False)
        poller = select.poll()
        poller.register(self._reply, select.POLLIN)
        if self._pidfd is not None:
            poller.register(self._pidfd, select.POLLIN)
        kill_at: float | None = None
        while True:
            ready = {fd for fd, _ in poller.poll(_WATCH_S * 1000)}
            if self._reply in ready:
                line = os.read(self._reply, 256)
                if line:  # the body's state: the job process goes on to the next job
                    return {"state": line.decode().strip()}
                return self._ended(kill_at is not None)  # end of file: it is exiting
            if not self.alive():
                return self._ended(kill_at is not None)
            if kill_at is None and (work_dir / self.cancel_flag).exists():
                kill_group(self.pid, signal.SIGTERM)
                kill_at = time.monotonic() + KILL_GRACE_S
            elif kill_at is not None and time.monotonic() >= kill_at:
                kill_group(self.pid, signal.SIGKILL)

    def _ended(self, cancelled: bool) -> dict[str, Any]:
        if self._status is None:
            _, self._status = os.waitpid(self.pid, 0)
        status = self._status
        if cancelled:
            kill_group(self.pid, signal.SIGKILL, leader=False)  # what the job left in the group
        self.close()
        if os.WIFSIGNALED(status):
            sig = signal.Signals(os.WTERMSIG(status)).name
            return {"state": "cancelled" if cancelled else "killed", "ran": True, "signal": sig}
        code = os.WEXITSTATUS(status)
        if cancelled:
            return {"state": "cancelled", "ran": True, "exit_code": code}
        return {"state": "failed", "exit_code": code}

    def close(self) -> None:
        """Release the pipes (the job process, if alive, exits after its job)."""
        for fd in (self._request, self._reply, self._pidfd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._request = self._reply = -1
        self._pidfd = None


def _serve(requests: int, replies: int) -> None:
    """The job process: run each job named on ``requests``; answer its state on ``replies``."""
    from ...jobs import task as _task

    home = os.getcwd()
    with os.fdopen(requests, "rb") as lines:
        for line in lines:  # ends when the worker closes its end (or exits)
            wd = Path(line.decode().strip())
            saved = [os.dup(1), os.dup(2)]
            try:
                for fd, name in ((1, _task.STDOUT), (2, _task.STDERR)):
                    out = os.open(wd / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                    os.dup2(out, fd)
                    os.close(out)
                state = _task.run(wd)["state"]
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                for fd, copy in zip((1, 2), saved):
                    os.dup2(copy, fd)
                    os.close(copy)
                os.chdir(home)
            try:
                os.write(replies, f"{state}\n".encode())
            except BrokenPipeError:  # the worker is gone: the outcome is in the work dir
                return
