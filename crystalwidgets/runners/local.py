"""The embedded local runner (profile kind ``local``): one OS process per job, no server.

Each job runs ``python -m crystalwidgets.jobs.task WORK_DIR`` in its own session, so a
kernel restart does not kill it. At most ``max_workers`` run at once; the rest
wait (``pending``) in this runner's queue. Process exits are pushed to one
watcher thread through Linux pidfds (a short liveness poll where pidfds are
missing), so the manager hears of a finished job within milliseconds, and the
same watcher follows jobs reattached from an earlier kernel (pid plus process
start time: a reused pid is never mistaken for the job). Each job's BLAS/OpenMP
threads are limited to its share of the cores (:mod:`crystalwidgets._procs`).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import psutil

from .._files import private_append
from .._procs import KILL_GRACE_S, kill_group, owner_host, process_alive, started_at, thread_env
from ..jobs import task as _task
from ..jobs.events import JobEvent, Task
from ..states import JobState
from .base import Runner

__all__ = ["LocalRunner"]

log = logging.getLogger(__name__)

_FALLBACK_POLL_S = 0.25


def _job_processes(work_dirs: set[str]) -> dict[str, tuple[int, float]]:
    """Live job processes (``python -m crystalwidgets.jobs.task WORK_DIR``) of ``work_dirs``:
    ``{work_dir: (pid, create_time)}``."""
    found: dict[str, tuple[int, float]] = {}
    for proc in psutil.process_iter(["cmdline", "create_time", "status"]):
        cmd = proc.info["cmdline"] or []
        if (
            len(cmd) >= 3
            and cmd[-2] == "crystalwidgets.jobs.task"
            and cmd[-1] in work_dirs
            and proc.info["status"] != psutil.STATUS_ZOMBIE
        ):
            found[cmd[-1]] = (proc.pid, proc.info["create_time"])
    return found


class _ExitWatcher:
    """One daemon thread calling ``callback()`` when a watched process ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._to_add: list[tuple[int, float | None, Callable[[], None]]] = []
        self._by_fd: dict[int, Callable[[], None]] = {}
        self._polled: list[tuple[int, float | None, Callable[[], None]]] = []
        self._wake_r, self._wake_w = os.pipe()
        self._poll = select.poll()
        self._poll.register(self._wake_r, select.POLLIN)
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="cw-exit-watcher", daemon=True)
        self._thread.start()

    def watch(self, pid: int, create_time: float | None, callback: Callable[[], None]) -> None:
        with self._lock:
            self._to_add.append((pid, create_time, callback))
        os.write(self._wake_w, b"x")

    def stop(self) -> None:
        self._stopped = True
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=2)

    def _register(self) -> list[Callable[[], None]]:
        gone = []
        with self._lock:
            adds, self._to_add = self._to_add, []
        for pid, create_time, callback in adds:
            try:
                fd = os.pidfd_open(pid)
            except ProcessLookupError:
                gone.append(callback)
                continue
            except (AttributeError, OSError):  # no pidfds here: poll liveness instead
                self._polled.append((pid, create_time, callback))
                continue
            if create_time is not None and not process_alive(pid, create_time):
                os.close(fd)  # the pid was reused or ended before we looked
                gone.append(callback)
                continue
            self._by_fd[fd] = callback
            self._poll.register(fd, select.POLLIN)
        return gone

    def _run(self) -> None:
        while not self._stopped:
            ended = self._register()
            timeout = _FALLBACK_POLL_S * 1000 if self._polled else None
            for fd, _ in self._poll.poll(timeout):
                if fd == self._wake_r:
                    os.read(self._wake_r, 4096)
                    continue
                self._poll.unregister(fd)
                os.close(fd)
                ended.append(self._by_fd.pop(fd))
            if self._polled:
                still = []
                for pid, create_time, callback in self._polled:
                    if process_alive(pid, create_time):
                        still.append((pid, create_time, callback))
                    else:
                        ended.append(callback)
                self._polled = still
            for callback in ended:
                try:
                    callback()
                except Exception:  # a bug in a callback must not stop the watcher
                    log.exception("exit callback failed")
        for fd in self._by_fd:
            os.close(fd)


@dataclasses.dataclass
class _Proc:
    task: Task
    pid: int
    create_time: float
    popen: subprocess.Popen | None  # None when reattached (not our child)
    cancelled: bool = False
    descendants: list[psutil.Process] = dataclasses.field(default_factory=list)


class LocalRunner(Runner):
    """Runs each job as a process on this machine. See the module docstring."""

    kind = "local"

    def __init__(self, profile: Any, emit: Callable[[JobEvent], None], run_dir: Any) -> None:
        super().__init__(profile, emit, run_dir)
        self.max_workers = getattr(profile, "max_workers", None) or os.cpu_count() or 1
        #: Threads each job's BLAS/OpenMP may start (see :mod:`crystalwidgets._procs`).
        self.cores_per_job = (os.cpu_count() or 1) / self.max_workers
        self._lock = threading.RLock()
        self._queue: collections.OrderedDict[str, Task] = collections.OrderedDict()
        self._running: dict[str, _Proc] = {}
        self._watcher = _ExitWatcher()

    # -- protocol ------------------------------------------------------------

    def submit(self, task: Task) -> None:
        with self._lock:
            self._queue[task.job_id] = task
        self._start_queued()

    def cancel(self, job_id: str) -> None:
        with self._lock:
            if self._queue.pop(job_id, None) is not None:
                self.emit(JobEvent(job_id, JobState.CANCELLED, {"finished": time.time()}))
                return
            proc = self._running.get(job_id)
            if proc is None or proc.cancelled:
                return
            proc.cancelled = True
        self._kill_tree(proc)

    def reattach(self, records: Iterable[Any]) -> None:
        records = list(records)
        # a kernel that died right after starting a job may not have recorded its pid:
        # find such jobs' processes by their command line (one scan for all of them)
        unrecorded = {
            str(rec.work_dir) for rec in records if rec.work_dir and not (rec.engine_ref or {}).get("pid")
        }
        found = _job_processes(unrecorded) if unrecorded else {}
        for rec in records:
            ref = rec.engine_ref or {}
            pid, create_time = ref.get("pid"), ref.get("create_time")
            if pid is None and str(rec.work_dir) in found:
                pid, create_time = found[str(rec.work_dir)]
                started = (_task.read_started(rec.work_dir) or {}).get("started") or create_time
                ref = {"pid": pid, "create_time": create_time, "pgid": pid}
                self.emit(JobEvent(rec.id, JobState.RUNNING, {"started": started, "engine_ref": ref}))
            if rec.work_dir and self.emit_outcome(rec.id, rec.work_dir):
                continue
            host = owner_host(rec.owner)
            if host and host != socket.gethostname():  # its pid means nothing here
                reason = (
                    f"it ran as a local process on {host}, whose kernel is gone; this kernel "
                    f"on {socket.gethostname()} cannot watch it, and it left no result in {rec.work_dir}"
                )
                self.emit(JobEvent(rec.id, JobState.ORPHANED, {"error": reason}))
                continue
            if process_alive(pid, create_time):
                task = Task(rec.id, Path(rec.work_dir))
                with self._lock:
                    self._running[rec.id] = _Proc(task, pid, create_time, None)
                self._watcher.watch(pid, create_time, lambda i=rec.id: self._on_exit(i))
                self.emit(JobEvent(rec.id, fields={"last_checked": time.time()}))
                continue
            # gone: it may have written its outcome between the two looks
            if rec.work_dir and self.emit_outcome(rec.id, rec.work_dir):
                continue
            if pid is None:
                reason = (
                    "it was queued in a kernel that ended before the job started, so it never ran; "
                    f"{_task.resubmit_hint(rec.id)}"
                )
            else:
                reason = (
                    f"its process (pid {pid}) ended while no kernel was watching and left no "
                    f"result in {rec.work_dir}"
                )
                reason = _task.with_job_stderr(reason, rec.work_dir)
            self.emit(JobEvent(rec.id, JobState.ORPHANED, {"error": reason}))
        self._start_queued()

    def poll(self) -> None:
        now = time.time()
        with self._lock:
            procs = list(self._running.values())
            queued = list(self._queue)
        for proc in procs:
            if process_alive(proc.pid, proc.create_time):
                self.emit(JobEvent(proc.task.job_id, fields={"last_checked": now}))
        for job_id in queued:
            self.emit(JobEvent(job_id, fields={"last_checked": now}))

    def shutdown(self) -> None:
        # running jobs live on (own session) and are reattached by the next manager
        self._watcher.stop()

    # -- internals -----------------------------------------------------------

    def running_jobs(self) -> list[str]:
        """Ids of jobs whose process runs now."""
        with self._lock:
            return list(self._running)

    def _start_queued(self) -> None:
        while True:
            with self._lock:
                if not self._queue or len(self._running) >= self.max_workers:
                    return
                job_id, task = self._queue.popitem(last=False)
                try:
                    proc = self._spawn(task)
                except OSError as exc:
                    self.emit(
                        JobEvent(
                            job_id,
                            JobState.FAILED,
                            {"error": f"could not start the job process: {exc}", "finished": time.time()},
                        )
                    )
                    continue
                self._running[job_id] = proc
            self.emit(
                JobEvent(
                    job_id,
                    JobState.RUNNING,
                    {
                        "started": time.time(),
                        "engine_ref": {"pid": proc.pid, "create_time": proc.create_time, "pgid": proc.pid},
                    },
                )
            )
            self._watcher.watch(proc.pid, None, lambda i=job_id: self._on_exit(i))

    def _spawn(self, task: Task) -> _Proc:
        wd = task.work_dir
        with private_append(wd / _task.STDOUT) as out, private_append(wd / _task.STDERR) as err:
            popen = subprocess.Popen(
                [sys.executable, "-m", "crystalwidgets.jobs.task", str(wd)],
                cwd=wd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # survives the kernel; its own process group
                close_fds=True,
                env=thread_env(self.cores_per_job),
            )
        started = started_at(popen.pid)
        return _Proc(task, popen.pid, time.time() if started is None else started, popen)

    def _on_exit(self, job_id: str) -> None:
        with self._lock:
            proc = self._running.pop(job_id, None)
        if proc is None:
            return
        code = proc.popen.wait() if proc.popen is not None else None
        if proc.cancelled:
            self._kill_leftovers(proc)
            outcome = _task.read_outcome(proc.task.work_dir)
            if outcome is not None and outcome.get("state") == "completed":
                self.emit_outcome(job_id, proc.task.work_dir, outcome)  # it won the race
            else:
                self.emit(JobEvent(job_id, JobState.CANCELLED, {"finished": time.time()}))
        elif not self.emit_outcome(job_id, proc.task.work_dir):
            how = f"with code {code}" if code is not None else "(not a child of this kernel)"
            if code is not None and code < 0:
                how = f"killed by signal {signal.Signals(-code).name}"
            error = f"the job process exited {how} without writing a result"
            error = _task.with_job_stderr(error, proc.task.work_dir)
            self.emit(JobEvent(job_id, JobState.FAILED, {"error": error, "finished": time.time()}))
        self._start_queued()

    def _kill_tree(self, proc: _Proc) -> None:
        """SIGTERM the job's process group and descendants; SIGKILL what is left after a grace."""
        try:
            proc.descendants = psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            proc.descendants = []
        kill_group(proc.pid, signal.SIGTERM, leader=False)
        for child in proc.descendants:
            try:
                child.terminate()
            except psutil.NoSuchProcess:
                pass
        timer = threading.Timer(KILL_GRACE_S, self._kill_leftovers, args=(proc,))
        timer.daemon = True
        timer.start()

    def _kill_leftovers(self, proc: _Proc) -> None:
        if process_alive(proc.pid, proc.create_time):
            kill_group(proc.pid, signal.SIGKILL, leader=False)
        leftovers = [p for p in proc.descendants if p.is_running()]
        for child in leftovers:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(leftovers, timeout=2)
