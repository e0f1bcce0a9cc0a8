"""The Covalent runner (profile kind ``covalent``): one dispatch per job, watched by polling.

- **Submit.** Jobs queue in the runner's own thread, which starts the local server when
  the profile has none of yours (bounded) and dispatches each job as a one-electron
  lattice (:mod:`.dispatch`, bounded). The dispatch id goes into the record's
  ``engine_ref`` at once, so a new kernel can reattach.
- **Status.** Covalent cannot call back: a watcher thread of the runner reads the jobs'
  own records in their work dirs every :data:`WATCH_S` seconds and asks the server about
  every live dispatch in bounded requests (50 a request) every :data:`STATUS_S` seconds
  (:meth:`poll`, from the manager's monitor, looks and asks too). ``running`` means the job's process started (its start record),
  not just that Covalent handed the electron to an executor. The end is the outcome the
  job body wrote; Covalent's statuses are mapped by :func:`job_state`.
- **Cancel.** A job not yet dispatched is dropped; one dispatched but not started never
  starts (the cancel flag, checked by the electron before it starts); a running one is
  killed by its executor worker, which watches the flag (by this runner when that worker
  is gone). Covalent is told too (``CANCELLED``). The job turns ``cancelled`` once its
  process is gone (seen in the process table, or in the electron's last record), never
  before.
- **Server lost.** A server that stays unreachable for ``unreachable_after_s`` fails the
  jobs that depended on it, saying so; a job whose process still runs here goes on and
  reports its result from its work dir.
- **Kernel gone.** Dispatches outlive the kernel; :meth:`shutdown` leaves them running and
  the next manager reattaches them by their dispatch ids.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..._files import private_dir, read_json
from ..._procs import KILL_GRACE_S, kill_group
from ...errors import CrystalWidgetsError
from ...jobs import task as _task
from ...jobs.events import Emit, Task
from ...states import JobState
from ..base import Runner
from ..worker import control
from ..worker.claim import CANCEL, TASK
from .dispatch import dispatch, failure_text
from .electron import ENDED
from .profiles import local_server
from .server import ServerError, cancel as cancel_dispatch, statuses

__all__ = ["CovalentRunner", "job_state", "WATCH_S"]

log = logging.getLogger(__name__)

#: Seconds between two looks at the live jobs' files (completion reaches the table within it).
WATCH_S = 0.5
#: Seconds between two questions to the server about the live dispatches: a job's end is
#: read from its work dir, Covalent's status tells only what the files cannot (a failed
#: electron, a cancel from outside, a lost server), and each question costs the server a
#: database query per batch, taken from the dispatches it is serving.
STATUS_S = 2.0
#: Covalent statuses of a dispatch on its way: the job is pending (or running, once started).
_UNDER_WAY = {
    "NEW_OBJECT",
    "STARTING",
    "DISPATCHING",
    "RUNNING",
    "PENDING_REUSE",
    "PENDING_REPLACEMENT",
    "PENDING_POSTPROCESSING",
    "POSTPROCESSING",
}
#: A server that answered this recently is not probed again before a dispatch (seconds).
_TRUSTED_S = 5.0
#: A cancelled job whose worker has not stopped it after this long is killed by the runner.
_CANCEL_BACKSTOP_S = 5.0 + KILL_GRACE_S


def _group_alive(pgid: int | None) -> bool:
    """Whether any live process of this host is in the process group ``pgid``."""
    if not pgid:
        return False
    import psutil

    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return False


def job_state(status: str) -> JobState:
    """The job state a Covalent dispatch status stands for.

    ``NEW_OBJECT``/``STARTING`` (and the other statuses of a dispatch on its way) ->
    pending, ``RUNNING`` -> running, ``COMPLETED``, ``FAILED``, ``CANCELLED`` -> the same;
    any other status -> failed (the runner names the status in the error).
    """
    if status == "RUNNING":
        return JobState.RUNNING
    if status in _UNDER_WAY:
        return JobState.PENDING
    return {
        "COMPLETED": JobState.COMPLETED,
        "FAILED": JobState.FAILED,
        "CANCELLED": JobState.CANCELLED,
    }.get(status, JobState.FAILED)


@dataclasses.dataclass
class _Job:
    task: Task
    #: queued (not yet dispatched) -> dispatched -> running
    state: str = "queued"
    dispatch_id: str | None = None
    server: str | None = None
    info: dict[str, Any] = dataclasses.field(default_factory=dict)
    cancel: float | None = None  # when it was cancelled
    status: str | None = None  # Covalent's, last seen
    note: str | None = None  # what it waits for, shown in its engine_ref

    @property
    def ref(self) -> dict[str, Any]:
        ref = {"dispatch_id": self.dispatch_id, "server": self.server, "note": self.note, **self.info}
        return {k: v for k, v in ref.items() if v is not None and k != "job_id"}


class CovalentRunner(Runner):
    """Runs jobs as Covalent dispatches for the ``covalent`` profile kind. See the module docstring."""

    kind = "covalent"

    def __init__(self, profile: Any, emit: Emit, run_dir: Path) -> None:
        super().__init__(profile, emit, Path(run_dir))
        self._lock = threading.RLock()
        self._check_lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._to_cancel: list[tuple[str, str]] = []  # (server, dispatch id) to tell Covalent
        self._submitter: threading.Thread | None = None
        self._watcher: threading.Thread | None = None
        self._wake = threading.Event()
        self._closed = False
        self._unreachable: dict[str, tuple[float, str]] = {}  # server -> (since, why)
        self._problem: str | None = None
        self._last_ok = -1e9  # when the server last answered (monotonic)
        self._asked = -1e9  # when the server was last asked about the live dispatches
        self._home = self.run_dir.parent.parent  # <home>/runners/<profile>

    # -- protocol ------------------------------------------------------------

    def preflight(self) -> None:
        if self._closed:
            raise CrystalWidgetsError("this Covalent runner was shut down; use a new JobManager")
        self.check_profile_once()

    def submit(self, task: Task) -> None:
        if self._closed:
            raise CrystalWidgetsError("this Covalent runner was shut down; use a new JobManager")
        with self._lock:
            self._jobs[task.job_id] = _Job(task)
            if self._submitter is None:
                self._submitter = threading.Thread(
                    target=self._submit_loop, name=f"cw-covalent-{self.profile.name}", daemon=True
                )
                self._submitter.start()
        self._queue.put(task.job_id)

    def cancel(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.cancel is not None:
                return
            job.cancel = time.time()
            if job.state == "queued":
                del self._jobs[job_id]  # never handed to Covalent: the submitter skips it
                self._emit(job_id, JobState.CANCELLED, finished=time.time())
                return
            if job.dispatch_id:
                self._to_cancel.append((job.server or self._address(), job.dispatch_id))
        wd = job.task.work_dir
        try:
            (wd / CANCEL).touch()
        except OSError as exc:
            log.warning("could not write the cancel flag of %s: %s", job_id, exc)
        claim = read_json(wd / TASK)
        if claim is None and job.state != "running":
            with self._lock:  # the electron checks the flag after its claim: it never starts
                self._jobs.pop(job_id, None)
            self._emit(job_id, JobState.CANCELLED, finished=time.time())
        else:
            info = {**(claim or {}), **job.info}
            if not control.worker_alive(info):
                control.kill(info)  # nobody else watches the flag
        self._ensure_watcher()
        self._wake.set()

    def reattach(self, records: Iterable[Any]) -> None:
        for rec in records:
            if not rec.work_dir:
                self._emit(rec.id, JobState.ORPHANED, error="it has no work dir to recover from")
                continue
            wd = Path(rec.work_dir)
            if self.emit_outcome(rec.id, wd):
                continue
            ref = dict(rec.engine_ref or {})
            if not ref.get("dispatch_id"):
                try:
                    (wd / CANCEL).touch()
                except OSError:
                    pass
                self._emit(
                    rec.id,
                    JobState.ORPHANED,
                    error=(
                        "it was waiting in the Covalent queue of a kernel that ended before it was "
                        f"dispatched, so it will not run: {_task.resubmit_hint(rec.id)}"
                    ),
                )
                continue
            started = read_json(wd / TASK) or {}
            job = _Job(
                Task(rec.id, wd),
                "running" if started.get("pid") else "dispatched",
                dispatch_id=ref["dispatch_id"],
                server=ref.get("server") or self._address(),
                info={k: v for k, v in {**ref, **started}.items() if k not in ("dispatch_id", "server", "note")},
                cancel=time.time() if (wd / CANCEL).exists() else None,  # cancelled by the kernel that ended
            )
            with self._lock:
                self._jobs[rec.id] = job
            if job.state == "running" and rec.state is not JobState.RUNNING:
                self._emit(rec.id, JobState.RUNNING, started=started.get("started") or time.time(), engine_ref=job.ref)
        self._ensure_watcher()
        self._wake.set()

    def poll(self) -> None:
        if self._closed:
            return
        self._check(ask=True)
        now = time.time()
        with self._lock:
            live = list(self._jobs)
        for job_id in live:
            self._emit(job_id, last_checked=now)

    def health(self) -> dict[str, Any]:
        with self._lock:
            jobs = list(self._jobs.values())
        down = next(iter(self._unreachable.values()), None)
        return {
            "profile": self.profile.name,
            "kind": self.profile.kind,
            "engine": "unreachable" if down else "ready",
            "blocks": [],
            "checked": time.time(),
            "jobs_waiting": sum(j.state != "running" for j in jobs),
            "jobs_running": sum(j.state == "running" for j in jobs),
            "problem": down[1] if down else self._problem,
        }

    def shutdown(self) -> None:
        """Stop watching; dispatched jobs go on in Covalent (the next manager reattaches them).

        Jobs not yet dispatched never will be: they are marked orphaned with the reason.
        """
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._wake.set()
        with self._lock:
            queued = [j for j in self._jobs.values() if j.state == "queued"]
            for j in queued:
                del self._jobs[j.task.job_id]
            self._jobs.clear()
        for job in queued:
            try:
                (job.task.work_dir / CANCEL).touch()
            except OSError:
                pass
            self._emit(
                job.task.job_id,
                JobState.ORPHANED,
                error=(
                    "it was not yet dispatched to Covalent when this kernel closed its runner, "
                    f"so it will not run: {_task.resubmit_hint(job.task.job_id)}"
                ),
            )
        self._send_cancels()  # cancels asked for just before: Covalent hears of them too (bounded)
        for thread in (self._submitter, self._watcher):
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=self.profile.call_timeout_s + 1)

    # -- submitting ----------------------------------------------------------

    def _address(self) -> str:
        return self.profile.address(self._home)

    def _submit_loop(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None or self._closed:
                return
            with self._lock:
                job = self._jobs.get(job_id)
            if job is None or job.cancel is not None:
                continue
            try:
                address = self._server()
                dispatch_id = dispatch(
                    address, self.profile.executor, str(job.task.work_dir), job_id, self.profile.call_timeout_s * 3
                )
            except Exception as exc:  # noqa: BLE001 - the job fails with the reason
                self._fail_queued(job_id, exc)
                continue
            with self._lock:
                job.dispatch_id, job.server = dispatch_id, address
                if job.state == "queued":
                    job.state = "dispatched"
                cancelled = job.cancel is not None
                if cancelled:
                    self._to_cancel.append((address, dispatch_id))
            self._last_ok = time.monotonic()
            self._emit(job_id, engine_ref=job.ref)
            self._ensure_watcher()
            self._wake.set()

    def _server(self) -> str:
        """The server's address; the local server is started first when it does not answer."""
        if not self.profile.local:
            return self._address()
        server = local_server(self.profile, self._home)
        if time.monotonic() - self._last_ok < _TRUSTED_S:
            return server.address()
        if not server.running(timeout=min(self.profile.call_timeout_s, 2.0)):
            with self._lock:
                waiting = [j.task.job_id for j in self._jobs.values() if j.state == "queued"]
            note = f"starting the local Covalent server (its log: {server.log_file})"
            for jid in waiting:
                self._emit(jid, engine_ref={"note": note})
            server.start(self.profile.start_timeout_s)
        return server.address()

    def _fail_queued(self, job_id: str, exc: BaseException) -> None:
        text = str(exc) if isinstance(exc, CrystalWidgetsError) else f"{type(exc).__name__}: {exc}"
        self._problem = f"Covalent did not take the job: {text}"
        with self._lock:
            job = self._jobs.pop(job_id, None)
        if job is not None and job.cancel is None:
            self._emit(job_id, JobState.FAILED, error=self._problem, finished=time.time())

    # -- watching ------------------------------------------------------------

    def _ensure_watcher(self) -> None:
        with self._lock:
            if self._watcher is None or not self._watcher.is_alive():
                self._watcher = threading.Thread(
                    target=self._watch_loop, name=f"cw-covalent-watch-{self.profile.name}", daemon=True
                )
                self._watcher.start()

    def _watch_loop(self) -> None:
        while not self._closed:
            self._wake.wait(WATCH_S)
            self._wake.clear()
            if self._closed:
                return
            try:
                self._check()
            except Exception:  # noqa: BLE001 - the next look tries again
                log.exception("checking Covalent jobs failed")
            with self._lock:
                if not self._jobs and not self._to_cancel:
                    self._watcher = None
                    return

    def _check(self, *, ask: bool = False) -> None:
        """One look at every live job: its records in the work dir, then (every :data:`STATUS_S`,
        or with ``ask``) Covalent's status."""
        if not self._check_lock.acquire(blocking=False):
            return  # the other thread is looking right now
        try:
            self._send_cancels()
            with self._lock:
                jobs = [j for j in self._jobs.values() if j.state != "queued"]
            for job in jobs:
                self._check_files(job)
            if not ask and time.monotonic() - self._asked < STATUS_S:
                return
            self._asked = time.monotonic()
            by_server: dict[str, list[_Job]] = {}
            with self._lock:
                for job in self._jobs.values():
                    if job.state != "queued" and job.dispatch_id:
                        by_server.setdefault(job.server or "", []).append(job)
            for server, live in by_server.items():
                self._check_server(server, live)
        finally:
            self._check_lock.release()

    def _send_cancels(self) -> None:
        with self._lock:
            todo, self._to_cancel = self._to_cancel, []
        for server, dispatch_id in todo:
            try:
                cancel_dispatch(server, dispatch_id, self.profile.call_timeout_s)
            except ServerError as exc:  # the flag stops the job all the same
                log.info("could not tell Covalent to cancel %s: %s", dispatch_id, exc)

    def _check_files(self, job: _Job) -> None:
        """What the job's own records say: started, finished, or (cancelled) gone."""
        job_id, wd = job.task.job_id, job.task.work_dir
        if job.state == "dispatched":  # first: a job that ran between two looks is told as such
            started = read_json(wd / TASK)
            if started is not None and started.get("pid") is not None:
                with self._lock:
                    job.state = "running"
                    job.note = None
                    job.info = {k: v for k, v in started.items() if k != "job_id"}
                self._emit(job_id, JobState.RUNNING, started=started.get("started") or time.time(), engine_ref=job.ref)
        outcome = _task.read_outcome(wd)
        if outcome is not None and not (job.cancel and outcome.get("state") != "completed"):
            if self._drop(job):
                self.emit_outcome(job_id, wd, outcome)
            return
        ended = read_json(wd / ENDED)
        if job.cancel is not None:
            self._check_cancelled(job, ended)
        elif ended is not None and self._drop(job):
            self.emit_outcome(job_id, wd) or self._emit(
                job_id, JobState.FAILED, error=self._ended_text(job, ended), finished=time.time()
            )

    def _check_cancelled(self, job: _Job, ended: dict[str, Any] | None) -> None:
        """A cancelled job turns cancelled once nothing of it runs any more."""
        info = job.info or read_json(job.task.work_dir / TASK) or {}
        if ended is None and info.get("pid") is None:
            if read_json(job.task.work_dir / TASK) is None and self._drop(job):
                self._emit(job.task.job_id, JobState.CANCELLED, finished=time.time())
            return
        if control.here(info):  # seen in the process table: the job's process and its group
            gone = not control.job_alive_here(info) and not _group_alive(info.get("pgid"))
        else:  # elsewhere: the electron's last record says its job process was killed
            gone = ended is not None
        if gone:
            if self._drop(job):
                self._emit(job.task.job_id, JobState.CANCELLED, finished=time.time())
            return
        if time.time() - (job.cancel or 0) > _CANCEL_BACKSTOP_S and control.here(info):
            if not control.kill(info) and info.get("pgid"):  # its worker did not: the kernel does
                kill_group(info["pgid"], signal.SIGKILL, leader=False)  # what the job left behind
        self._reason(job, f"cancel requested; waiting for its process{control.where_text(info)} to stop")

    def _check_server(self, server: str, live: list[_Job]) -> None:
        try:
            found = statuses(server, [j.dispatch_id for j in live if j.dispatch_id], self.profile.call_timeout_s)
        except ServerError as exc:
            self._server_unreachable(server, live, exc)
            return
        self._unreachable.pop(server, None)
        self._last_ok = time.monotonic()
        for job in live:
            status = found.get(job.dispatch_id or "")
            job.status = status
            if job.cancel is not None:
                continue  # judged by its process (above)
            if status is None:
                self._fail(job, f"the Covalent server at {server} has no dispatch {job.dispatch_id} (was its database purged, or is another server on that port?)")
                continue
            state = job_state(status)
            if state is JobState.PENDING or state is JobState.RUNNING:
                if job.state == "dispatched" and status == "RUNNING":
                    self._reason(job, "Covalent runs the dispatch; the job waits for a free executor worker")
                continue
            if self.emit_outcome(job.task.job_id, job.task.work_dir):
                self._drop(job)
                continue
            if state is JobState.CANCELLED:  # cancelled outside crystalwidgets (e.g. Covalent's UI)
                with self._lock:
                    job.cancel = time.time()
                try:
                    (job.task.work_dir / CANCEL).touch()
                except OSError:
                    pass
                self._check_cancelled(job, read_json(job.task.work_dir / ENDED))
            elif status == "FAILED":
                text = failure_text(server, job.dispatch_id or "", self.profile.call_timeout_s, str(self._results_dir()))
                self._fail(job, f"Covalent reports the dispatch {job.dispatch_id} FAILED: {text}")
            elif status == "COMPLETED":
                ended = read_json(job.task.work_dir / ENDED)
                self._fail(job, self._ended_text(job, ended or {}))
            else:
                self._fail(job, f"Covalent reports the dispatch {job.dispatch_id} in status {status}, which crystalwidgets does not know: treated as failed")

    def _server_unreachable(self, server: str, live: list[_Job], exc: ServerError) -> None:
        since, _ = self._unreachable.setdefault(server, (time.monotonic(), str(exc)))
        self._unreachable[server] = (since, str(exc))
        waited = time.monotonic() - since
        for job in live:
            if job.cancel is not None:
                continue
            info = job.info
            if info.get("pid") and control.job_alive_here(info):
                self._reason(job, f"the Covalent server does not answer ({exc}); the job's process still runs and its result will be read from its work dir")
                continue
            if waited < self.profile.unreachable_after_s:
                self._reason(job, f"the Covalent server does not answer ({exc}); waiting {self.profile.unreachable_after_s:g} s for it")
                continue
            if job.state == "running":
                what = f"its process{control.where_text(info)} is gone and left no result"
            else:
                what = "the job had not started"
            self._fail(
                job,
                _task.with_job_stderr(
                    f"the Covalent server at {server} stopped answering for {waited:.0f} s ({exc}) and "
                    f"{what}: {_task.resubmit_hint(job.task.job_id)} once the server runs again",
                    job.task.work_dir,
                ),
            )

    # -- helpers -------------------------------------------------------------

    def _ended_text(self, job: _Job, ended: dict[str, Any]) -> str:
        where = control.where_text(job.info)
        state = ended.get("state")
        if state == "cancelled":
            text = f"the job was cancelled outside crystalwidgets before it wrote a result{where}"
        elif state == "killed" or ended.get("exit_code") is not None:
            text = control.ended_text(ended, job.info)
        else:
            text = f"Covalent reports the dispatch {job.dispatch_id} {job.status or 'ended'} but the job left no result{where}"
        return _task.with_job_stderr(text, job.task.work_dir)

    def _results_dir(self) -> Path:
        return private_dir(self.run_dir / "results")

    def _drop(self, job: _Job) -> bool:
        """Forget ``job``; False when it was forgotten already (someone else reported it)."""
        with self._lock:
            return self._jobs.pop(job.task.job_id, None) is not None

    def _fail(self, job: _Job, error: str) -> None:
        if self._drop(job):
            self._emit(job.task.job_id, JobState.FAILED, error=error, finished=time.time())

    def _reason(self, job: _Job, note: str | None) -> None:
        """Say in the job's ``engine_ref`` what it waits for (emitted when it changes)."""
        if job.note != note:
            job.note = note
            self._emit(job.task.job_id, engine_ref=job.ref)

