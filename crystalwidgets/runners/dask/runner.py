"""The Dask runner (profile kinds ``dask-local``, ``dask-slurm``, ``dask-scheduler``).

One ``distributed.Client`` per profile per kernel, made on the first submit in the
runner's own thread (the kernel never waits for Dask), with the cluster the profile
builds (a ``LocalCluster``, a ``SLURMCluster``) or the scheduler it names. quacc's engine
stays unset: each job is the task :func:`~.task.run_dask_job`, which runs the plain job
body in the worker's job process, so quacc's files and the outcome land in the job's
work dir.

What Dask does not give, this runner adds:

- **Running, not just submitted.** A client future has no "running" state: the task
  reports its start on the runner's event topic (``Worker.log_event``; ``cw-task.json``
  in the work dir, read at each monitor tick, is the fallback).
- **Ends** come from the futures' done-callbacks (they run on a Dask thread and are
  handed to the manager as events).
- **Retried, then failed.** A worker that dies mid-job (killed, out of memory, its
  Slurm job ended) makes Dask rerun the task on another worker: the row says so while
  the rerun runs; after Dask's allowed failures the job fails with ``KilledWorker``.
- **Cancel that stops.** ``future.cancel()`` does not stop a running task; the job's
  worker kills its job process's group when the cancel flag appears (this runner does
  when the worker is gone), and the worker lives on for other jobs.
- **Kernel restart.** ``dask-local`` and ``dask-slurm`` clusters end with their kernel
  (their scheduler runs in it): a job whose process still runs is watched until it
  writes its outcome, the rest are orphaned with the reason. ``dask-scheduler`` jobs
  are published on the scheduler under their key (so it keeps them when no client is
  connected) and the next kernel takes them back by that key.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import queue
import secrets
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..._files import private_dir, read_json
from ...errors import CrystalWidgetsError
from ...jobs import task as _task
from ...jobs.events import Emit, Task
from ...profiles import slurm as _slurm
from ...states import JobState
from ..base import Runner
from ..worker import control
from ..worker.claim import CANCEL, TASK, started_info
from .task import run_dask_job

__all__ = ["DaskRunner"]

log = logging.getLogger(__name__)

#: How long a cancelled job's worker gets to answer before this runner stops waiting.
_CANCEL_BACKSTOP_S = 15.0
#: Bound of every call that waits on the scheduler (connect, close, scale).
_CALL_TIMEOUT_S = 20.0
_KEY_PREFIX = "cw-"
#: How long closing waits for Slurm to see the blocks ended (COMPLETING included).
_BLOCKS_GONE_S = 15.0


@dataclasses.dataclass
class _Job:
    task: Task
    #: queued (not yet given to Dask) -> submitted -> running
    state: str = "queued"
    future: Any = None
    info: dict[str, Any] = dataclasses.field(default_factory=dict)
    cancel: bool = False
    starts: int = 0
    #: the Slurm job of its worker, once seen ended while it ran
    lost_block: str | None = None
    #: taken over from a kernel that ended, followed by polling (no future)
    reattached: bool = False


class DaskRunner(Runner):
    """Runs jobs on Dask for the ``dask-*`` profile kinds. See the module docstring."""

    kind = "dask"

    def __init__(self, profile: Any, emit: Emit, run_dir: Path) -> None:
        super().__init__(profile, emit, Path(run_dir))
        self._lock = threading.RLock()
        self._jobs: dict[str, _Job] = {}
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self._cluster: Any = None
        self._topic = f"cw-started-{secrets.token_hex(6)}"
        self._label = f"cw-dask-{secrets.token_hex(4)}"
        self._problem: str | None = None
        self._blocks: list[dict[str, Any]] = []
        self._blocks_checked: float | None = None
        self._engine_state = "not started"
        self._closed = False

    # -- protocol ------------------------------------------------------------

    def preflight(self) -> None:
        if self._closed:
            raise CrystalWidgetsError("this Dask runner was shut down; use a new JobManager")
        self.check_profile_once()

    def submit(self, task: Task) -> None:
        if self._closed:
            raise CrystalWidgetsError("this Dask runner was shut down; use a new JobManager")
        with self._lock:
            self._jobs[task.job_id] = _Job(task)
        self._start_thread()
        self._queue.put(("submit", task.job_id))

    def cancel(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.cancel:
                return
            job.cancel = True
            if job.state == "queued":
                del self._jobs[job_id]  # never given to Dask
                self._emit(job_id, JobState.CANCELLED, finished=time.time())
                return
        wd = job.task.work_dir
        try:
            (wd / CANCEL).touch()
        except OSError as exc:
            log.warning("could not write the cancel flag of %s: %s", job_id, exc)
        claim = read_json(wd / TASK)
        if claim is None and job.state != "running" and not job.reattached:
            # not claimed, and the flag is there: it can never start (the task looks after claiming)
            with self._lock:
                self._jobs.pop(job_id, None)
            if job.future is not None:
                job.future.cancel()  # free its place in Dask's queue
            self._emit(job_id, JobState.CANCELLED, finished=time.time())
            return
        info = {**(claim or {}), **job.info}
        if job.reattached or not control.worker_alive(info):
            control.kill(info)  # nobody else watches the flag
        timer = threading.Timer(_CANCEL_BACKSTOP_S, self._cancel_backstop, args=(job_id,))
        timer.daemon = True
        timer.start()

    def reattach(self, records: Iterable[Any]) -> None:
        for rec in records:
            if not rec.work_dir:
                self._emit(rec.id, JobState.ORPHANED, error="it has no work dir to recover from")
                continue
            wd = Path(rec.work_dir)
            if self.emit_outcome(rec.id, wd):
                continue
            info = {**(rec.engine_ref or {}), **(read_json(wd / TASK) or {})}
            if self.profile.outlives_kernel:  # the scheduler may still hold it: ask it, off this thread
                with self._lock:
                    self._jobs[rec.id] = _Job(Task(rec.id, wd), "submitted", info=info)
                self._start_thread()
                self._queue.put(("reattach", rec.id))
                continue
            if info.get("pid") and control.job_alive_here(info):
                self._watch(rec, wd, info)  # the job process outlived its worker: it ends its job
                continue
            self._orphan_unwatched(rec.id, wd, info)

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

    def blocks(self) -> list[dict[str, Any]]:
        """``dask-slurm``: the cluster's Slurm jobs as last seen; else none."""
        with self._lock:
            return [dict(b) for b in self._blocks]

    def health(self) -> dict[str, Any]:
        with self._lock:
            jobs = list(self._jobs.values())
            blocks = [dict(b) for b in self._blocks]
        workers = None
        client = self._client
        if client is not None and self._engine_state == "ready":
            try:
                workers = len(client.cluster.workers) if client.cluster is not None else None
            except Exception:  # noqa: BLE001  (a health view never raises)
                workers = None
        return {
            "profile": self.profile.name,
            "kind": self.profile.kind,
            "engine": "closed" if self._closed else self._engine_state,
            "label": self._label,
            "dashboard": getattr(client, "dashboard_link", None) if client else None,
            "workers": workers,
            "blocks": blocks,
            "checked": self._blocks_checked,
            "jobs_waiting": sum(j.state in ("queued", "submitted") for j in jobs),
            "jobs_running": sum(j.state == "running" for j in jobs),
            "problem": self._problem,
        }

    def shutdown(self) -> None:
        """Close the client (and the cluster it started); unfinished jobs of a cluster that
        ends with it become orphaned, ``dask-scheduler`` jobs are left running."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            jobs = list(self._jobs.values())
            self._jobs.clear()
        keep = self.profile.outlives_kernel
        if not keep:
            for job in jobs:
                try:
                    (job.task.work_dir / CANCEL).touch()
                except OSError:
                    pass
                control.kill({**(read_json(job.task.work_dir / TASK) or {}), **job.info})
        self._queue.put(("stop", None))
        if self._thread is not None:
            self._thread.join(_CALL_TIMEOUT_S + _BLOCKS_GONE_S + 5)
        if keep:
            return
        for job in jobs:
            if self.emit_outcome(job.task.job_id, job.task.work_dir):
                continue
            was = "running" if job.state == "running" else "waiting"
            self._emit(
                job.task.job_id,
                JobState.ORPHANED,
                error=(
                    f"it was {was} when this kernel closed its Dask cluster (profile "
                    f"{self.profile.name!r}); the cluster ends with its kernel: "
                    f"{_task.resubmit_hint(job.task.job_id)}"
                ),
            )

    # -- the runner's thread: every call that waits on Dask -------------------

    def _start_thread(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name=f"cw-dask-{self.profile.name}", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        while True:
            op, job_id = self._queue.get()
            if op == "stop":
                self._close_client()
                return
            batch = [(op, job_id)]
            while True:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt[0] == "stop":
                    self._queue.put(nxt)
                    break
                batch.append(nxt)
            try:
                client = self._connect()
            except Exception as exc:  # noqa: BLE001  (reported on every job of the batch)
                self._problem = f"Dask could not start for profile {self.profile.name!r}: {exc}"
                log.warning("%s", self._problem, exc_info=True)
                for _, jid in batch:
                    with self._lock:
                        job = self._jobs.pop(jid, None)
                    if job is not None and not job.cancel:
                        self._emit(jid, JobState.FAILED, error=self._problem, finished=time.time())
                continue
            submits = [jid for op, jid in batch if op == "submit"]
            if submits:  # one graph for the batch (a sweep), as client.map would send it
                self._submit_many(client, submits)
            for op, jid in batch:
                if op == "reattach":
                    self._reattach_one(client, jid)

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        from distributed import Client

        self._engine_state = "starting"
        cluster = self.profile.make_cluster(private_dir(self.run_dir / "dask"), self._label)
        if isinstance(cluster, str):
            client = Client(cluster, timeout=_CALL_TIMEOUT_S, set_as_default=False)
        else:
            self._cluster = cluster
            client = Client(cluster, timeout=_CALL_TIMEOUT_S, set_as_default=False)
        client.subscribe_topic(self._topic, self._on_event)
        self._client = client
        self._engine_state = "ready"
        self._problem = None
        return client

    def _close_client(self) -> None:
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        for thing in (client, cluster):
            if thing is None:
                continue
            try:
                thing.close(timeout=_CALL_TIMEOUT_S)
            except TypeError:
                thing.close()
            except Exception:  # noqa: BLE001  (closing never raises into the kernel)
                log.warning("closing Dask's %s failed", type(thing).__name__, exc_info=True)
        if cluster is not None and self.profile.kind == "dask-slurm":
            try:  # closed means gone from squeue, completing included
                alive = _slurm.cancel_until_gone(self._label, timeout=_BLOCKS_GONE_S)
            except _slurm.SlurmError as exc:
                alive, self._problem = [], f"could not scancel the blocks: {exc}"
            if alive:
                log.warning("Dask blocks still in Slurm: %s", ", ".join(f"{j.job_id} {j.state}" for j in alive))

    def _submit_many(self, client: Any, job_ids: list[str]) -> None:
        """Give these jobs to Dask in one ``client.map`` (one message to the scheduler for a
        sweep, not one per job); each future's done-callback reports its job."""
        with self._lock:
            jobs = [(jid, job) for jid in job_ids if (job := self._jobs.get(jid)) is not None and not job.cancel]
            for _, job in jobs:
                job.state = "submitted"
        if not jobs:
            return
        try:
            futures = client.map(
                run_dask_job,
                [str(job.task.work_dir) for _, job in jobs],
                [jid for jid, _ in jobs],
                [self._topic] * len(jobs),
                key=[_KEY_PREFIX + jid for jid, _ in jobs],
                pure=False,
            )
        except Exception as exc:  # noqa: BLE001
            for jid, _ in jobs:
                with self._lock:
                    self._jobs.pop(jid, None)
                self._emit(jid, JobState.FAILED, error=f"Dask refused the job: {exc}", finished=time.time())
            return
        if self.profile.outlives_kernel:  # the scheduler keeps them, and hands them to the next kernel
            try:
                client.publish_dataset(**{fut.key: fut for fut in futures})
            except Exception as exc:  # noqa: BLE001  (they still run; they cannot be reattached)
                log.warning("could not publish %d task(s) on the scheduler: %s", len(futures), exc)
        for (jid, job), fut in zip(jobs, futures):
            with self._lock:
                job.future = fut
            fut.add_done_callback(functools.partial(self._on_done, jid))

    def _reattach_one(self, client: Any, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            return
        key = job.info.get("key") or _KEY_PREFIX + job_id
        try:
            fut = client.get_dataset(key, default=None)
        except Exception as exc:  # noqa: BLE001
            fut, why = None, f"asking it failed: {exc}"
        else:
            why = "it no longer holds the task"
        if fut is not None:
            with self._lock:
                job.future = fut
                if job.info.get("pid"):
                    job.state = "running"
            self._emit(job_id, last_checked=time.time())
            fut.add_done_callback(functools.partial(self._on_done, job_id))
            return
        with self._lock:
            self._jobs.pop(job_id, None)
        if not self.emit_outcome(job_id, job.task.work_dir):
            self._emit(
                job_id,
                JobState.ORPHANED,
                error=(
                    f"the Dask scheduler at {self.profile.address} cannot give the job back ({why}: "
                    f"task {key}) and it left no result in {job.task.work_dir}: "
                    f"{_task.resubmit_hint(job_id)}"
                ),
            )

    # -- hearing from tasks --------------------------------------------------

    def _on_event(self, event: Any) -> None:
        """Dask's topic handler (client's loop thread): a task started."""
        msg = event[1] if isinstance(event, tuple) and len(event) == 2 else event
        if isinstance(msg, dict) and isinstance(msg.get("job_id"), str) and isinstance(msg.get("info"), dict):
            self._on_started(msg["job_id"], msg["info"])

    def _on_started(self, job_id: str, info: dict[str, Any]) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return
            same = job.info.get("pid") == info.get("pid") and job.info.get("create_time") == info.get("create_time")
            if job.state == "running" and same:
                return
            before = dict(job.info)
            job.state = "running"
            job.info = info
            job.starts += 1
            starts, cancel = job.starts, job.cancel
        ref = {"key": _KEY_PREFIX + job_id, "cluster": self._label, **{k: v for k, v in info.items() if v is not None}}
        fields: dict[str, Any] = {"engine_ref": ref}
        if starts == 1:
            fields["started"] = info.get("started") or time.time()
        else:  # Dask reran it: its worker was lost
            fields["error"] = (
                f"retried (run {starts}): its Dask worker{control.where_text(before)} was lost "
                f"mid-job{self._block_reason(before)}; now on {info.get('worker') or 'another worker'}"
            )
        self._emit(job_id, JobState.RUNNING, **fields)
        if cancel and not control.worker_alive(info):
            control.kill(info)

    def _on_done(self, job_id: str, fut: Any) -> None:
        """A future's done-callback (a Dask thread): the job's end."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.future is not fut:
                return
        if job.state == "submitted" and not job.cancel:
            # its start event can still be on its way (a short job): the record it left in
            # its work dir says where it ran, before its end is told
            self._started_from_file(job_id, job.task.work_dir)
        with self._lock:
            if self._jobs.get(job_id) is not job:
                return
            del self._jobs[job_id]
        if self.profile.outlives_kernel:
            self._unpublish(fut)
        wd = job.task.work_dir
        outcome = _task.read_outcome(wd)  # the body's own record: no round trip to Dask
        status, result, exc = fut.status, None, None
        if outcome is None and status == "finished":
            try:
                result = fut.result(timeout=_CALL_TIMEOUT_S)
            except Exception as e:  # noqa: BLE001
                exc = e
        elif outcome is None and status == "error":
            try:
                exc = fut.exception(timeout=_CALL_TIMEOUT_S)
            except Exception as e:  # noqa: BLE001
                exc = e
        if job.cancel:
            if outcome is not None and outcome.get("state") == "completed":
                self.emit_outcome(job_id, wd, outcome)  # it won the race
            else:
                self._emit(job_id, JobState.CANCELLED, finished=time.time())
            return
        if outcome is not None:
            self.emit_outcome(job_id, wd, outcome)
            return
        if status == "cancelled" or (isinstance(result, dict) and result.get("state") == "cancelled"):
            # cancelled by someone else (the scheduler, a restart of the cluster)
            self._emit(
                job_id, JobState.FAILED, finished=time.time(),
                error=_task.with_job_stderr(
                    f"Dask cancelled the task {fut.key} (the cluster was closed or restarted)", wd
                ),
            )
            return
        self._emit(job_id, JobState.FAILED, error=self._explain(job, result, exc), finished=time.time())

    def _unpublish(self, fut: Any) -> None:
        client = self._client
        if client is None:
            return
        try:
            client.unpublish_dataset(fut.key)
        except Exception:  # noqa: BLE001  (already gone, or the scheduler went away)
            log.debug("could not unpublish %s", fut.key, exc_info=True)

    def _explain(self, job: _Job, result: Any, exc: BaseException | None) -> str:
        where = control.where_text(job.info)
        if exc is None:
            answer = result if isinstance(result, dict) else {}
            return _task.with_job_stderr(control.ended_text(answer, job.info), job.task.work_dir)
        name = type(exc).__name__
        if name == "KilledWorker":
            text = (
                f"Dask gave up on it: every worker that ran it died{where}{self._block_reason(job.info)} "
                f"(KilledWorker: {exc})"
            )
        else:
            text = f"Dask reported {name}: {exc}"
        return _task.with_job_stderr(text, job.task.work_dir)

    # -- monitoring ----------------------------------------------------------

    def _check_started_files(self) -> None:
        with self._lock:
            waiting = [(j.task.job_id, j.task.work_dir) for j in self._jobs.values() if j.state == "submitted"]
        for job_id, wd in waiting:
            self._started_from_file(job_id, wd)

    def _started_from_file(self, job_id: str, wd: Path) -> None:
        if (info := started_info(wd)) is not None:
            self._on_started(job_id, info)

    def _watch(self, rec: Any, wd: Path, info: dict[str, Any]) -> None:
        with self._lock:
            self._jobs[rec.id] = _Job(Task(rec.id, wd), "running", info=info, reattached=True)
        if rec.state is JobState.RUNNING:
            self._emit(rec.id, last_checked=time.time())
        else:
            started = (_task.read_started(wd) or {}).get("started") or time.time()
            self._emit(rec.id, JobState.RUNNING, engine_ref=info, started=started)

    def _check_reattached(self) -> None:
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.reattached]
        for job in jobs:
            job_id, wd = job.task.job_id, job.task.work_dir
            if _task.read_outcome(wd) is None and control.job_alive_here(job.info):
                continue
            with self._lock:
                if self._jobs.pop(job_id, None) is None:
                    continue
            if self.emit_outcome(job_id, wd):
                continue
            if job.cancel:
                self._emit(job_id, JobState.CANCELLED, finished=time.time())
            else:
                self._orphan_unwatched(job_id, wd, job.info)

    def _orphan_unwatched(self, job_id: str, wd: Path, info: dict[str, Any]) -> None:
        if self.emit_outcome(job_id, wd):  # it may have ended between the looks
            return
        if info.get("pid"):
            text = (
                f"its process{control.where_text(info)} ended with the Dask cluster of the kernel "
                f"that started it and left no result in {wd}"
            )
        else:
            try:  # a leftover worker of the dead kernel must never start it
                (wd / CANCEL).touch()
            except OSError:
                pass
            text = (
                "it was waiting in the Dask cluster of a kernel that ended; that cluster "
                f"(profile {self.profile.name!r}) ended with its kernel, so it will not run"
            )
        self._emit(job_id, JobState.ORPHANED, error=_task.with_job_stderr(f"{text}: {_task.resubmit_hint(job_id)}", wd))

    def _check_blocks(self) -> None:
        """``dask-slurm``: one ``squeue`` of the cluster's jobs."""
        cluster = self._cluster
        if cluster is None or self.profile.kind != "dask-slurm":
            return
        try:
            ids = {str(w.job_id): name for name, w in list(cluster.workers.items()) if getattr(w, "job_id", None)}
        except Exception:  # noqa: BLE001  (a cluster being closed)
            return
        try:
            found = {j.job_id: j for j in _slurm.queue(job_ids=ids)} if ids else {}
        except _slurm.SlurmError as exc:
            self._problem = f"could not ask Slurm about the blocks: {exc}"
            return
        blocks = []
        for job_id, name in ids.items():
            sj = found.get(job_id)
            blocks.append(
                {
                    "block": name,
                    "job_id": job_id,
                    "state": sj.state if sj else "ENDED",
                    "reason": sj.reason if sj else None,
                    "nodes": sj.nodes if sj else None,
                    "never_starts": bool(sj and sj.never_starts),
                }
            )
        with self._lock:
            self._blocks = blocks
            self._blocks_checked = time.time()
            ended = {b["job_id"]: b for b in blocks if b["state"] == "ENDED" or (found.get(b["job_id"]) and found[b["job_id"]].finished)}
            lost = [
                j for j in self._jobs.values()
                if j.state == "running" and str(j.info.get("slurm_job_id")) in ended
                and j.lost_block != str(j.info.get("slurm_job_id"))
            ]
            for j in lost:
                j.lost_block = str(j.info["slurm_job_id"])
        for j in lost:  # Dask will rerun it: say so now, not when the rerun starts
            b = ended[j.lost_block]
            why = b["state"] + (f", {b['reason']}" if b.get("reason") and b["reason"] != "None" else "")
            self._emit(
                j.task.job_id,
                error=(
                    f"its Dask worker{control.where_text(j.info)} was lost: its Slurm job {j.lost_block} "
                    f"ended ({why}); Dask reruns the job on another worker"
                ),
            )

    def _block_reason(self, info: dict[str, Any]) -> str:
        sid = info.get("slurm_job_id")
        if not sid:
            return ""
        try:
            found = {j.job_id: j for j in _slurm.queue(job_ids=[str(sid)])}
        except _slurm.SlurmError:
            return f" (Slurm job {sid})"
        sj = found.get(str(sid))
        if sj is None or sj.finished:
            return f" (its Slurm job {sid} has ended{': ' + sj.state if sj else ''})"
        return f" (its Slurm job {sid} is {sj.state}{': ' + sj.reason if sj.reason else ''})"

    # -- killing -------------------------------------------------------------

    def _cancel_backstop(self, job_id: str) -> None:
        """A cancelled job whose task never answered: kill what runs here, then say cancelled."""
        with self._lock:
            job = self._jobs.pop(job_id, None)
        if job is None:
            return
        info = {**(read_json(job.task.work_dir / TASK) or {}), **job.info}
        control.kill(info)
        if job.future is not None:
            job.future.cancel()
        self._emit(job_id, JobState.CANCELLED, finished=time.time())

