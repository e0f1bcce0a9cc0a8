"""The Parsl runner (profile kinds ``parsl-threads``, ``parsl-local``, ``parsl-slurm``).

One DataFlowKernel per profile per kernel, created on the first submit (in the
runner's own thread: the kernel never waits for Parsl), its run dir under the
runner's dir. quacc's engine stays unset: each job is the Parsl app
:func:`~crystalwidgets.runners.parsl.app.run_job`, which runs the plain job body
inside the task, so quacc's files and the outcome land in the job's work dir, the
same files a restarted kernel recovers from.

What Parsl does not give, this runner adds:

- **Running, not just launched.** The task reports its start: in-process for
  threads, over a signed TCP line for HTEX workers (``cw-task.json`` in the work
  dir is read at each monitor tick as the fallback). The Slurm job id and block
  of the worker go into the record's ``engine_ref``.
- **Ends** come from the futures' done-callbacks (no polling); finished futures
  are dropped at once.
- **Block health.** Each monitor tick asks Slurm (one ``squeue``) about the
  executor's blocks. A job whose block ended while it ran fails with Slurm's
  state; when jobs wait and no block is alive but one failed, was cancelled
  outside, or can never start (e.g. PartitionTimeLimit under
  ``EnforcePartLimits=NO``), they fail with that reason and the DataFlowKernel is
  replaced, as it is when Parsl declares its executor broken.
- **Cancel.** A job that has not started never will (a flag in its work dir,
  checked by the task before it starts); a running job's process group is killed
  by its worker, which watches the flag (by this runner when that worker is
  gone), leaving the worker and its block to other jobs. Threads are stopped at
  their next Python instruction.
- **Clean exit.** ``shutdown`` (and interpreter exit) cleans up the
  DataFlowKernels and scancels every block; jobs still pending or running are
  marked orphaned with the reason. Blocks left by a kernel that died are listed
  by :func:`leftover_blocks` and cancelled by :func:`cleanup_leftovers`.
"""

from __future__ import annotations

import atexit
import ctypes
import dataclasses
import functools
import logging
import queue
import socket
import threading
import time
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..._files import read_json
from ..._procs import owner_id
from ...errors import CrystalWidgetsError
from ...jobs import task as _task
from ...jobs.events import Emit, Task
from ...profiles import slurm as _slurm
from ...states import JobState
from ..base import Runner
from ..worker import control
from ..worker.claim import started_info
from .app import CANCEL, TASK, JobCancelled, RemoteLink
from .blocks import BlockWatch
from .engine import Engine
from .leftovers import cleanup_leftovers, leftover_blocks, stop_dead_engines
from .link import Listener, ThreadLink

__all__ = ["ParslRunner", "cleanup_leftovers", "leftover_blocks"]




log = logging.getLogger(__name__)


logging.getLogger("parsl").propagate = False  # quacc calls basicConfig: keep Parsl's DEBUG out


_CANCEL_BACKSTOP_S = 15.0


@dataclasses.dataclass
class _Job:
    task: Task
    #: queued (not yet given to Parsl) -> submitted -> running
    state: str = "queued"
    engine: Engine | None = None
    info: dict[str, Any] = dataclasses.field(default_factory=dict)
    cancel: bool = False
    claimed: bool = False
    thread: int | None = None
    #: taken over from a kernel that ended: no future, followed by polling
    reattached: bool = False
    #: what it waits for (shown on its row) and since when (the same wait: reasons may change)
    waiting: str | None = None
    waiting_since: tuple[str, float] | None = None


_RUNNERS: weakref.WeakSet[ParslRunner] = weakref.WeakSet()


def _shutdown_all() -> None:
    """At interpreter exit: no DataFlowKernel, interchange or Slurm block is left behind.

    Runs before Python joins its threads (a thread-pool job is stopped first, so exit
    does not wait for it); the next kernel finds the jobs and marks them orphaned.
    """
    for runner in list(_RUNNERS):
        try:
            runner._shutdown(report=False)
        except Exception:
            log.exception("Parsl runner shutdown at exit failed")


atexit.register(_shutdown_all)


try:  # the hook concurrent.futures itself uses: runs before worker threads are joined
    threading._register_atexit(_shutdown_all)  # type: ignore[attr-defined]
except (AttributeError, RuntimeError):
    pass


class ParslRunner(BlockWatch, Runner):
    """Runs jobs through Parsl for the ``parsl-*`` profile kinds. See the module docstring."""

    kind = "parsl"

    @classmethod
    def stop_leftovers(cls, runners_dir: Path) -> None:
        """Stop the interchanges of local engines whose kernel died (:func:`.stop_dead_engines`)."""
        stop_dead_engines(runners_dir)

    @classmethod
    def leftover_blocks(cls, runners_dir: Path) -> list[dict[str, Any]]:
        """Slurm blocks of ``parsl-slurm`` engines whose kernel ended (:func:`.leftover_blocks`)."""
        return leftover_blocks(runners_dir)

    @classmethod
    def cleanup_leftovers(cls, runners_dir: Path) -> list[str]:
        """scancel those blocks, stop the dead engines' interchanges (:func:`.cleanup_leftovers`)."""
        return cleanup_leftovers(runners_dir)

    def __init__(self, profile: Any, emit: Emit, run_dir: Path) -> None:
        super().__init__(profile, emit, Path(run_dir))
        self._lock = threading.RLock()
        self._jobs: dict[str, _Job] = {}
        self._engine: Engine | None = None
        self._starting: float | None = None  # when the engine being started began
        self._retired: list[Engine] = []
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._submitter: threading.Thread | None = None
        self._listener: Listener | None = None
        self._link: Any = None
        self._blocks: list[dict[str, Any]] = []
        self._blocks_checked: float | None = None
        self._problem: str | None = None
        self._closed = False
        self._owner = owner_id()
        self._threads = profile.kind == "parsl-threads"
        _RUNNERS.add(self)

    # -- protocol ------------------------------------------------------------

    def preflight(self) -> None:
        if self._closed:
            raise CrystalWidgetsError("this Parsl runner was shut down; use a new JobManager")
        self.check_profile_once()

    def submit(self, task: Task) -> None:
        if self._closed:
            raise CrystalWidgetsError("this Parsl runner was shut down; use a new JobManager")
        with self._lock:
            self._jobs[task.job_id] = _Job(task)
            if self._submitter is None:
                self._submitter = threading.Thread(
                    target=self._submit_loop, name=f"cw-parsl-{self.profile.name}", daemon=True
                )
                self._submitter.start()
        self._queue.put(task.job_id)

    def cancel(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.cancel:
                return
            job.cancel = True
            if job.state == "queued" or (self._threads and not job.claimed):
                del self._jobs[job_id]  # it never reaches a worker (or never starts there)
                self._emit(job_id, JobState.CANCELLED, finished=time.time())
                return
            if self._threads:
                if job.thread is not None:
                    _raise_in_thread(job.thread, JobCancelled)
                return  # CANCELLED when the thread has left the job
        wd = job.task.work_dir
        try:
            (wd / CANCEL).touch()
        except OSError as exc:
            log.warning("could not write the cancel flag of %s: %s", job_id, exc)
        claim = read_json(wd / TASK)
        if claim is None and job.state != "running" and not job.reattached:
            with self._lock:
                self._jobs.pop(job_id, None)
            self._emit(job_id, JobState.CANCELLED, finished=time.time())
            return
        info = {**(claim or {}), **job.info}
        # the job's worker kills its job process when it sees the flag: only the worker knows
        # which job that process runs now; a job whose worker died has nobody else to do it
        if not control.worker_alive(info):
            self._kill(info)
        timer = threading.Timer(_CANCEL_BACKSTOP_S, self._cancel_backstop, args=(job_id,))
        timer.daemon = True
        timer.start()

    def reattach(self, records: Iterable[Any]) -> None:
        blocks: dict[str, _slurm.SlurmJob] | None = None
        for rec in records:
            if not rec.work_dir:
                self._emit(rec.id, JobState.ORPHANED, error="it has no work dir to recover from")
                continue
            wd = Path(rec.work_dir)
            if self.emit_outcome(rec.id, wd):
                continue
            info = {**(rec.engine_ref or {}), **(read_json(wd / TASK) or {})}
            if info.get("thread"):
                self._emit(
                    rec.id,
                    JobState.ORPHANED,
                    error=(
                        "it ran in a thread of a kernel that ended (parsl-threads jobs end with "
                        f"their kernel) and left no result; {_task.resubmit_hint(rec.id)}"
                    ),
                )
                continue
            if info.get("pid") is None:
                try:  # a leftover queue of the dead kernel must never start it
                    (wd / CANCEL).touch()
                except OSError:
                    pass
                self._emit(
                    rec.id,
                    JobState.ORPHANED,
                    error=(
                        "it was waiting in the Parsl queue of a kernel that ended before the job "
                        "started; Parsl's queue does not outlive its kernel, so it will not run: "
                        f"{_task.resubmit_hint(rec.id)}"
                    ),
                )
                continue
            if (
                blocks is None
                and info.get("slurm_job_id")
                and info.get("host") != socket.gethostname()
            ):
                blocks = self._squeue_by_id()
            if self._still_running(info, blocks):
                with self._lock:
                    self._jobs[rec.id] = _Job(
                        Task(rec.id, wd), "running", info=info, reattached=True
                    )
                if rec.state is JobState.RUNNING:
                    self._emit(rec.id, last_checked=time.time())
                else:  # it started after its kernel died (handed to a worker just then)
                    started = (_task.read_started(wd) or {}).get("started") or time.time()
                    self._emit(rec.id, JobState.RUNNING, engine_ref=info, started=started)
                continue
            if self.emit_outcome(rec.id, wd):  # it may have ended between the two looks
                continue
            self._emit(rec.id, JobState.ORPHANED, error=self._ended_unwatched(info, wd))

    def poll(self) -> None:
        if self._closed:
            return
        now = time.time()
        self._check_started_files()
        self._check_reattached()
        self._check_blocks()
        with self._lock:
            live = list(self._jobs)
        for job_id in live:
            self._emit(job_id, last_checked=now)

    def shutdown(self) -> None:
        """Clean up every DataFlowKernel (blocks scancelled); unfinished jobs become orphaned."""
        self._shutdown(report=True)

    def _shutdown(self, *, report: bool) -> None:
        if self._closed:
            return
        self._closed = True
        _RUNNERS.discard(self)
        self._queue.put(None)
        with self._lock:
            jobs = list(self._jobs.values())
            self._jobs.clear()
            engines = [e for e in [self._engine, *self._retired] if e is not None]
            self._engine = None
            self._retired = []
        for job in jobs:
            if job.thread is not None:
                _raise_in_thread(job.thread, JobCancelled)
            elif not self._threads:
                try:
                    (job.task.work_dir / CANCEL).touch()
                except OSError:
                    pass
                self._kill({**(read_json(job.task.work_dir / TASK) or {}), **job.info})
        for engine in engines:
            engine.close()
        if self._listener is not None:
            self._listener.stop()
        if not report:  # interpreter exit: nobody listens; the next kernel judges the jobs
            return
        for job in jobs:
            if self.emit_outcome(job.task.job_id, job.task.work_dir):
                continue
            was = "running" if job.state == "running" else "waiting"
            self._emit(
                job.task.job_id,
                JobState.ORPHANED,
                error=(
                    f"it was {was} when this kernel closed its Parsl executor (profile "
                    f"{self.profile.name!r}); Parsl jobs do not outlive their kernel, the blocks "
                    f"were cancelled: {_task.resubmit_hint(job.task.job_id)}"
                ),
            )

    # -- submitting ----------------------------------------------------------

    def _submit_loop(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None or self._closed:
                return
            batch = [job_id]
            while True:  # take what else is waiting: one engine check per batch
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                batch.append(nxt)
            try:
                engine = self._current_engine(batch)
            except Exception as exc:
                self._problem = f"Parsl could not start for profile {self.profile.name!r}: {exc}"
                log.warning("%s", self._problem, exc_info=True)
                for jid in batch:
                    with self._lock:
                        job = self._jobs.pop(jid, None)
                    if job is not None and not job.cancel:
                        self._emit(jid, JobState.FAILED, error=self._problem, finished=time.time())
                continue
            for jid in batch:
                self._submit_one(engine, jid)

    def _submit_one(self, engine: Engine, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.cancel:
                return
            job.engine = engine
            job.state = "submitted"
        try:
            fut = engine.app(str(job.task.work_dir), job_id, self._link)
        except Exception as exc:
            with self._lock:
                self._jobs.pop(job_id, None)
            self._emit(
                job_id, JobState.FAILED, error=f"Parsl refused the job: {exc}", finished=time.time()
            )
            return
        fut.add_done_callback(functools.partial(self._on_done, job_id, engine))

    def _current_engine(self, batch: list[str] = ()) -> Engine:
        """The live engine; a new one when there is none or Parsl declared it broken.

        While a new one starts (seconds: Parsl's interchange and first workers), the jobs of
        ``batch`` say so on their rows.
        """
        with self._lock:
            engine = self._engine
        if engine is not None:
            why = engine.broken()
            if why is None:
                return engine
            self._retire(engine, f"Parsl's executor failed and was replaced: {why}")
        if self._link is None:
            if self._threads:
                self._link = ThreadLink(self)
            else:
                bind = (
                    "127.0.0.1"
                    if self.profile.kind == "parsl-local"
                    else (self.profile.address or "0.0.0.0")
                )
                self._listener = Listener(bind, self._on_message)
                self._link = RemoteLink(self._addresses(), self._listener.port, self._listener.key)
        self._starting = time.time()
        text = "starting the Parsl engine (the first job of a profile waits for it)"
        for jid in batch:  # the row counts the seconds from waiting_since
            self._emit(jid, engine_ref={"waiting": text, "waiting_since": round(self._starting, 3)})
        try:
            engine = Engine(self.profile, self.run_dir, self._owner)
        finally:
            self._starting = None
        with self._lock:
            if self._closed:
                closing = True
            else:
                closing = False
                self._engine = engine
                self._problem = None
        if closing:
            engine.close()
            raise CrystalWidgetsError("the runner was shut down")
        return engine

    def _addresses(self) -> tuple[str, ...]:
        if self.profile.kind == "parsl-local":
            return ("127.0.0.1",)
        if self.profile.address:
            return (self.profile.address,)
        from parsl.addresses import get_all_addresses

        addrs = sorted(get_all_addresses())
        return tuple(
            [a for a in addrs if not a.startswith("127.")]
            + [a for a in addrs if a.startswith("127.")]
        )

    # -- hearing from tasks --------------------------------------------------

    def _claim(self, job_id: str) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.cancel:
                return False
            job.claimed = True
            return True

    def _thread_started(self, job_id: str, info: dict[str, Any]) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.cancel:
                raise JobCancelled
            job.thread = threading.get_ident()
        self._on_started(job_id, {**info, "thread": job.thread})

    def _thread_finished(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                job.thread = None

    def _on_message(self, msg: dict[str, Any]) -> None:
        job_id, info = msg.get("job_id"), msg.get("info")
        if isinstance(job_id, str) and isinstance(info, dict):
            self._on_started(job_id, info)

    def _on_started(self, job_id: str, info: dict[str, Any]) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state == "running":
                return
            job.state = "running"
            job.info = info
            cancel = job.cancel
            label = job.engine.label if job.engine else None
        ref = {"executor": label, **{k: v for k, v in info.items() if v is not None}}
        self._emit(
            job_id, JobState.RUNNING, started=info.get("started") or time.time(), engine_ref=ref
        )
        if cancel and not self._threads and not control.worker_alive(info):
            self._kill(info)  # cancelled before it started; its worker (the flag's reader) is gone

    def _on_done(self, job_id: str, engine: Engine, fut: Any) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.engine is not engine:
                return
        if job.state == "submitted" and not job.cancel and not self._threads:
            # its start message can still be on its way (a short job): the record it left in
            # its work dir says where it ran, before its end is told
            self._started_from_file(job_id, job.task.work_dir)
        with self._lock:
            if self._jobs.get(job_id) is not job:
                return
            del self._jobs[job_id]
        try:
            result, exc = fut.result(timeout=0), None
        except BaseException as e:  # noqa: BLE001  (the future's own error)
            result, exc = None, e
        wd = job.task.work_dir
        outcome = result.get("outcome") if isinstance(result, dict) else None
        if outcome is None:
            outcome = _task.read_outcome(wd)
        if job.cancel:
            if outcome is not None and outcome.get("state") == "completed":
                self.emit_outcome(job_id, wd, outcome)  # it won the race
            else:
                self._emit(job_id, JobState.CANCELLED, finished=time.time())
            return
        if outcome is not None:
            self.emit_outcome(job_id, wd, outcome)
            return
        if isinstance(result, dict) and result.get("state") == "cancelled":
            self._emit(job_id, JobState.CANCELLED, finished=time.time())
            return
        self._emit(
            job_id, JobState.FAILED, error=self._explain(job, result, exc), finished=time.time()
        )

    def _explain(self, job: _Job, result: Any, exc: BaseException | None) -> str:
        info = job.info
        where = _where(info)
        if exc is None:
            answer = result if isinstance(result, dict) else {}
            return _task.with_job_stderr(control.ended_text(answer, info), job.task.work_dir)
        name = type(exc).__name__
        if name == "ManagerLost":
            text = f"the Parsl worker pool running it{where} was lost (its block ended or its node failed)"
        elif name == "WorkerLost":
            text = f"the Parsl worker running it{where} died"
        elif name == "BadStateException":
            text = f"Parsl's executor failed: {exc}"
        else:
            text = f"Parsl reported {name}: {exc}"
        if job.engine is not None and info.get("slurm_job_id"):
            text = _task.with_stderr(text, job.engine.stderr_tail(info["slurm_job_id"]), "the block's")
        return text

    # -- monitoring ----------------------------------------------------------

    def _check_started_files(self) -> None:
        """Fallback for lost start messages: the task's own record in the work dir."""
        if self._threads:
            return
        with self._lock:
            waiting = [
                (j.task.job_id, j.task.work_dir)
                for j in self._jobs.values()
                if j.state == "submitted"
            ]
        for job_id, wd in waiting:
            self._started_from_file(job_id, wd)

    def _started_from_file(self, job_id: str, wd: Path) -> None:
        if (info := started_info(wd)) is not None:
            self._on_started(job_id, info)

    def _check_reattached(self) -> None:
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.reattached]
        if not jobs:
            return
        blocks = (
            self._squeue_by_id()
            if any(
                j.info.get("slurm_job_id") and j.info.get("host") != socket.gethostname()
                for j in jobs
            )
            else None
        )
        for job in jobs:
            job_id, wd = job.task.job_id, job.task.work_dir
            if _task.read_outcome(wd) is None and self._still_running(job.info, blocks):
                continue
            with self._lock:
                if self._jobs.pop(job_id, None) is None:
                    continue
            if self.emit_outcome(job_id, wd):
                continue
            if job.cancel:
                self._emit(job_id, JobState.CANCELLED, finished=time.time())
            else:
                error = (
                    f"its process{_where(job.info)}, started by a kernel that ended, stopped "
                    f"without leaving a result in {wd} (was its block cancelled?)"
                )
                self._emit(job_id, JobState.ORPHANED, error=_task.with_job_stderr(error, wd))

    # -- killing -------------------------------------------------------------

    def _kill(self, info: dict[str, Any]) -> None:
        """Kill a running job's process group when it runs on this host (elsewhere the task's
        own worker sees the cancel flag and does the same)."""
        control.kill(info)

    def _cancel_backstop(self, job_id: str) -> None:
        """A cancelled job whose task never answered: free its block if it is the block's only job."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return
            others = [
                j
                for j in self._jobs.values()
                if j is not job
                and j.state == "running"
                and j.info.get("block") == job.info.get("block")
            ]
            del self._jobs[job_id]
        slurm_id = job.info.get("slurm_job_id")
        if slurm_id and not others:
            try:
                _slurm.cancel([slurm_id])
            except _slurm.SlurmError:
                log.warning("could not scancel block %s", slurm_id, exc_info=True)
        self._emit(job_id, JobState.CANCELLED, finished=time.time())

    # -- helpers -------------------------------------------------------------


    def _squeue_by_id(self) -> dict[str, _slurm.SlurmJob]:
        try:
            return {j.job_id: j for j in _slurm.queue()}
        except _slurm.SlurmError:
            return {}

    @staticmethod
    def _still_running(info: dict[str, Any], blocks: dict[str, _slurm.SlurmJob] | None) -> bool:
        if control.here(info):
            return control.job_alive_here(info)
        block = (blocks or {}).get(str(info.get("slurm_job_id")))
        return block is not None and not block.finished

    @staticmethod
    def _ended_unwatched(info: dict[str, Any], wd: Path) -> str:
        text = (
            f"its process{_where(info)} ended while no kernel watched it and left no result in {wd}"
        )
        return _task.with_job_stderr(text, wd)


def _where(info: dict[str, Any]) -> str:
    return control.where_text(info)


def _raise_in_thread(ident: int, exc: type[BaseException]) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exc))
