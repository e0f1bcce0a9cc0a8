"""Block health of a Parsl runner: what its blocks are doing, and what that means for its jobs.

Each monitor tick asks the engine for its blocks (one ``squeue`` on Slurm). A job whose
block ended while it ran fails with the scheduler's state and the block's stderr; when
jobs wait and no block is alive but one failed, was cancelled outside, or can never
start (e.g. PartitionTimeLimit under ``EnforcePartLimits=NO``), they fail with that
reason and the engine is retired (replaced at the next submit). The same facts feed the
ClusterPicker (:meth:`BlockWatch.blocks`, :meth:`BlockWatch.health`).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ...jobs import task as _task
from ...states import JobState
from .engine import Engine

log = logging.getLogger(__name__)

class BlockWatch:
    """The block-health part of :class:`~.runner.ParslRunner` (a mixin of it).

    It uses the runner's ``_lock``, ``_jobs``, ``_engine``, ``_starting``, ``_blocks``,
    ``_blocks_checked``, ``_problem``, ``_closed``, ``profile`` and ``_emit``.
    """

    # -- block health (for the ClusterPicker) --------------------------------

    def blocks(self) -> list[dict[str, Any]]:
        """The current DataFlowKernel's blocks as seen at the last monitor tick (JSON-able).

        Each: ``block`` (Parsl's id), ``job_id`` (Slurm's, or the local pid), ``state``
        (Slurm's: PENDING, RUNNING, CANCELLED, ...; SUBMIT_FAILED when Slurm refused
        it), ``reason`` (Slurm's reason or the error), ``nodes``, ``finished``,
        ``never_starts``, ``scaled_in`` (released by Parsl when idle).
        """
        with self._lock:
            return [dict(b) for b in self._blocks]

    def health(self) -> dict[str, Any]:
        """A JSON-able summary for the ClusterPicker: engine state, blocks, jobs, last problem."""
        with self._lock:
            engine = self._engine
            jobs = list(self._jobs.values())
            blocks = [dict(b) for b in self._blocks]
        starting = self._starting
        if self._closed:
            state = "closed"
        elif engine is not None:
            state = "ready"
        elif starting is not None:
            state = f"starting ({time.time() - starting:.0f} s)"
        else:
            state = "not started"
        return {
            "profile": self.profile.name,
            "kind": self.profile.kind,
            "engine": state,
            "label": engine.label if engine else None,
            "blocks": blocks,
            "checked": self._blocks_checked,
            "jobs_waiting": sum(j.state in ("queued", "submitted") for j in jobs),
            "jobs_running": sum(j.state == "running" for j in jobs),
            "problem": self._problem,
        }

    def _check_blocks(self) -> None:
        """Block health: fail what cannot go on, within this one tick."""
        with self._lock:
            engine = self._engine
        if engine is None or not engine.htex:
            return
        why = engine.broken()
        if why is not None:
            self._retire(engine, f"Parsl's executor failed: {why}")
            return
        try:
            blocks = engine.blocks()
        except Exception as exc:  # Slurm did not answer: say so, judge nothing
            self._problem = f"could not ask Slurm about the blocks: {exc}"
            for job in _waiting(self._jobs_on(engine)):
                # the wait goes on (its clock too); what it waits for is not known now
                wait = job.waiting_since[0] if job.waiting_since else "request"
                self._tell_waiting(engine, job, f"waiting; {self._problem}", wait)
            return
        with self._lock:
            self._blocks = blocks
            self._blocks_checked = time.time()
        jobs = self._jobs_on(engine)
        by_block = {b["block"]: b for b in blocks}
        if self._release_unneeded(engine, blocks):
            return

        # a job whose block ended while it ran: it cannot go on
        for job in [j for j in jobs if j.state == "running"]:
            block = by_block.get(str(job.info.get("block")))
            if block is None or not block["finished"]:
                continue
            with self._lock:
                if self._jobs.pop(job.task.job_id, None) is None:
                    continue
            if self.emit_outcome(job.task.job_id, job.task.work_dir):
                continue
            if job.cancel:
                self._emit(job.task.job_id, JobState.CANCELLED, finished=time.time())
                continue
            self._emit(
                job.task.job_id,
                JobState.FAILED,
                finished=time.time(),
                error=f"{self._describe_block(engine, block)} while the job ran in it",
            )

        waiting = _waiting(jobs)
        live = [b for b in blocks if not b["finished"] and not b["never_starts"]]
        bad = [
            b
            for b in blocks
            if b["never_starts"]
            or (b["finished"] and not b["scaled_in"] and b["state"] != "TIMEOUT")
        ]
        if waiting and not live and bad:
            reason = self._describe_block(engine, bad[-1])
            self._problem = reason
            self._retire(engine, f"{reason}; no block of this profile is left to run it")
            return
        text, wait = _waiting_text(blocks)
        for job in waiting:
            self._tell_waiting(engine, job, text, wait)

    def _jobs_on(self, engine: Engine) -> list[Any]:
        """The jobs this runner gave ``engine`` (not those reattached after a restart)."""
        with self._lock:
            return [j for j in self._jobs.values() if j.engine is engine and not j.reattached]

    def _tell_waiting(self, engine: Engine, job: Any, text: str, wait: str) -> None:
        """Put what ``job`` waits for on its row when it changed; its clock counts from the
        start of this ``wait`` (kept while only the words change, e.g. Slurm's reason)."""
        if job.waiting == text:
            return
        job.waiting = text
        if job.waiting_since is None or job.waiting_since[0] != wait:
            job.waiting_since = (wait, round(time.time(), 3))
        self._emit(
            job.task.job_id,
            engine_ref={
                "executor": engine.label,
                "waiting": text,
                "waiting_since": job.waiting_since[1],
            },
        )

    def _release_unneeded(self, engine: Engine, blocks: list[dict[str, Any]]) -> bool:
        """Close a Slurm engine whose blocks are all still pending and that has no job left
        (each was cancelled while it waited): its place in Slurm's queue is given back now.

        Parsl cannot: the cancelled jobs' tasks stay in its queue, so it would keep (or ask
        again for) a block that waits for an hour for nobody. The next job starts a new engine.
        """
        live = [b for b in blocks if not b["finished"]]
        if not engine.slurm or not live or any(b["state"] != "PENDING" for b in live):
            return False
        with self._lock:  # a job submitted now sees no engine and starts a new one
            if self._jobs or self._engine is not engine:
                return False
            self._engine = None
        log.info(
            "profile %r: no job needs the pending Slurm block(s) %s any more; scancelling them",
            self.profile.name,
            ", ".join(str(b["job_id"]) for b in live),
        )
        self._retire(engine, "no job needs its blocks")
        return True

    def _describe_block(self, engine: Engine, block: dict[str, Any]) -> str:
        jid, state, reason = block["job_id"], block["state"], block["reason"]
        if state == "SUBMIT_FAILED":
            return (
                f"Slurm refused the block: {reason}"
                if engine.slurm
                else f"the block could not start: {reason}"
            )
        name = f"Slurm block {jid}" if engine.slurm else f"block {block['block']} (pid {jid})"
        if block["never_starts"]:
            text = f"Slurm will never start block {jid}: it is pending with reason {reason}"
            if reason == "PartitionTimeLimit":
                text += (
                    f" (walltime {self.profile.walltime} is over the partition's MaxTime); "
                    "lower walltime in the profile"
                )
            else:
                text += "; fix the profile (check() lists what is wrong)"
            return text
        if state == "CANCELLED":
            text = (
                f"{name} was cancelled outside crystalwidgets (scancel by you or an administrator)"
            )
        elif state == "TIMEOUT":
            text = f"{name} reached its walltime ({getattr(self.profile, 'walltime', '?')}); raise walltime"
        else:
            text = f"{name} ended ({state}{': ' + reason if reason else ''})"
        tail = engine.stderr_tail(jid) if state not in ("CANCELLED", "TIMEOUT") else ""
        return _task.with_stderr(text, tail, "the block's")

    def _retire(self, engine: Engine, reason: str) -> None:
        """Fail the engine's unfinished jobs with ``reason``; close it off the caller's thread."""
        with self._lock:
            if self._engine is engine:
                self._engine = None
            victims = [j for j in self._jobs.values() if j.engine is engine and not j.reattached]
            for j in victims:
                del self._jobs[j.task.job_id]
            if engine not in self._retired:
                self._retired.append(engine)
        for job in victims:
            if job.state == "running":
                self._kill(job.info)
            if self.emit_outcome(job.task.job_id, job.task.work_dir):
                continue
            if job.cancel:
                self._emit(job.task.job_id, JobState.CANCELLED, finished=time.time())
            else:
                self._emit(job.task.job_id, JobState.FAILED, error=reason, finished=time.time())

        def close() -> None:
            engine.close()
            with self._lock:
                if engine in self._retired:
                    self._retired.remove(engine)

        threading.Thread(target=close, name=f"cw-parsl-retire-{engine.label}", daemon=True).start()



def _waiting(jobs: list[Any]) -> list[Any]:
    """Those of ``jobs`` that wait for a worker (handed to Parsl, not started, not cancelled)."""
    return [j for j in jobs if j.state == "submitted" and not j.cancel]


def _waiting_text(blocks: list[dict[str, Any]]) -> tuple[str, str]:
    """What waiting jobs wait for, in words (shown on their rows), and which wait it is (the
    same while only Slurm's reason changes: the row's clock counts from its start)."""
    live = [b for b in blocks if not b["finished"]]
    running = [b for b in live if b["state"] == "RUNNING"]
    if running:
        return "waiting for a free worker (blocks {} running)".format(
            ", ".join(str(b["job_id"]) for b in running)
        ), "worker"
    pending = [b for b in live if b["state"] == "PENDING"]
    if pending:
        b = pending[0]
        why = f", Slurm's reason: {b['reason']}" if b["reason"] else ""
        return f"waiting for Slurm to start block {b['job_id']}{why}", f"block {b['job_id']}"
    return "waiting for Parsl to request a block", "request"


