"""One DataFlowKernel of a profile in this kernel: its executor's blocks, their health, and a clean close.

Each engine registers itself in the runner's dir (``engines/<label>.json``: owner, kind, block
name prefix) so the blocks of a kernel that died can be found (:mod:`.leftovers`)."""

from __future__ import annotations

import json
import logging
import re
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any

from ..._files import private_dir, private_tree, tail_text, write_private
from ...profiles import slurm as _slurm
from .app import run_job

log = logging.getLogger(__name__)


_CLEANUP_TIMEOUT_S = 20.0


#: How long closing an engine waits for Slurm to see its blocks ended (COMPLETING included).
_BLOCKS_GONE_S = 15.0


ENGINES_DIR = "engines"


class Engine:
    """One DataFlowKernel with its one executor, labelled uniquely (blocks are named after it)."""

    def __init__(self, profile: Any, run_dir: Path, owner: str) -> None:
        from parsl import python_app
        from parsl.dataflow.dflow import DataFlowKernel

        self.label = f"cw-{secrets.token_hex(4)}"
        self.kind = profile.kind
        self.slurm = profile.kind == "parsl-slurm"
        self.registry = private_dir(run_dir / ENGINES_DIR) / f"{self.label}.json"
        self._register(profile, owner)
        # Parsl makes its run info (logs, keys, block scripts) with the kernel's umask: the
        # runinfo dir is 0700 so none of it can be reached, and made private when the
        # engine has started and when it closes
        runinfo = private_dir(run_dir / "runinfo")
        self.dfk = DataFlowKernel(profile.to_parsl_config(runinfo, self.label))
        self.run_info = Path(self.dfk.run_dir)  # this engine's: runinfo/000, 001, ...
        private_tree(self.run_info)
        self.executor = self.dfk.executors[self.label]
        self.app = python_app(run_job, data_flow_kernel=self.dfk, executors=[self.label])
        self.htex = hasattr(self.executor, "connected_managers")
        self.closed = False
        self._register(profile, owner)  # now with the interchange's pid

    def _register(self, profile: Any, owner: str) -> None:
        proc = getattr(getattr(self, "executor", None), "interchange_proc", None)
        entry = {
            "label": self.label,
            "owner": owner,
            "profile": profile.name,
            "kind": profile.kind,
            "created": time.time(),
            "interchange_pid": getattr(proc, "pid", None),
        }
        write_private(self.registry, json.dumps(entry))

    def broken(self) -> str | None:
        """Why Parsl declared the executor unusable, or None."""
        if getattr(self.executor, "bad_state_is_set", False):
            return f"{self.executor.executor_exception}"
        return None

    def blocks(self) -> list[dict[str, Any]]:
        """The executor's blocks now: id, Slurm job id, state, Slurm's reason, and how they ended."""
        if not self.htex:
            return []
        from parsl.jobs.states import JobState as BlockState

        out: list[dict[str, Any]] = []
        if self.slurm:
            jobs = _slurm.queue(name_prefix=f"parsl.{self.label}.")
            facade = dict(
                self.executor.status_facade
            )  # read after squeue: sees parsl's scale-in marks
            for j in jobs:
                m = re.match(rf"parsl\.{re.escape(self.label)}\.block-(\d+)\.", j.name)
                block = m.group(1) if m else "?"
                st = facade.get(block)
                out.append(
                    {
                        "block": block,
                        "job_id": j.job_id,
                        "state": j.state,
                        "reason": "" if j.reason == "None" else j.reason,
                        "nodes": j.nodes,
                        "finished": j.finished,
                        "never_starts": j.never_starts,
                        "scaled_in": st is not None and st.state == BlockState.SCALED_IN,
                    }
                )
            known = {b["block"] for b in out}
            for block, st in facade.items():
                if (
                    block not in known
                    and st.state == BlockState.FAILED
                    and block not in self.executor.blocks_to_job_id
                ):
                    out.append(self._failed_submit(block, st))
        else:
            for block, st in dict(
                self.executor.status_facade
            ).items():  # parsl refreshes it every 5 s
                if block not in self.executor.blocks_to_job_id and st.state == BlockState.FAILED:
                    out.append(self._failed_submit(block, st))
                    continue
                out.append(
                    {
                        "block": block,
                        "job_id": self.executor.blocks_to_job_id.get(block),
                        "state": st.state.name,
                        "reason": st.message or "",
                        "nodes": socket.gethostname(),
                        "finished": st.terminal,
                        "never_starts": False,
                        "scaled_in": st.state in (BlockState.SCALED_IN, BlockState.CANCELLED),
                    }
                )
        out.sort(key=lambda b: int(b["block"]) if b["block"].isdigit() else -1)
        return out

    @staticmethod
    def _failed_submit(block: str, st: Any) -> dict[str, Any]:
        return {
            "block": block,
            "job_id": None,
            "state": "SUBMIT_FAILED",
            "reason": st.message or "",
            "nodes": "",
            "finished": True,
            "never_starts": False,
            "scaled_in": False,
        }

    def stderr_tail(self, job_id: str | None, n_chars: int = 1500) -> str:
        """The end of a block's stderr (where a failing worker_init shows).

        The path is Parsl's ``JobStatus.stderr_path``; that status is refreshed only every
        provider poll (5 s), and squeue often tells of a failed block first, so until then
        the path comes from what the provider recorded when it submitted the block.
        """
        blocks = dict(self.executor.blocks_to_job_id)
        block = next((b for b, j in blocks.items() if j == job_id), None)
        status = dict(self.executor.status_facade).get(block) if block is not None else None
        path = getattr(status, "stderr_path", None)
        if not path:
            path = getattr(self.executor.provider, "resources", {}).get(job_id or "", {}).get("job_stderr_path")
        return tail_text(path, n_chars).strip()

    def close(self) -> None:
        """Clean up the DataFlowKernel (bounded) and scancel whatever block is left."""
        if self.closed:
            return
        self.closed = True
        done = threading.Event()

        def cleanup() -> None:
            try:
                self.dfk.cleanup()
            except Exception:
                log.warning("Parsl cleanup of %s failed", self.label, exc_info=True)
            done.set()

        threading.Thread(target=cleanup, name=f"cw-parsl-cleanup-{self.label}", daemon=True).start()
        if not done.wait(_CLEANUP_TIMEOUT_S):
            log.warning(
                "Parsl cleanup of %s took over %s s; going on", self.label, _CLEANUP_TIMEOUT_S
            )
            proc = getattr(self.executor, "interchange_proc", None)
            if proc is not None and proc.poll() is None:
                proc.kill()
        private_tree(self.run_info)
        if not self.slurm or self._cancel_blocks():
            self.registry.unlink(missing_ok=True)

    def _cancel_blocks(self) -> bool:
        """scancel the blocks still in Slurm and wait (bounded) until none is left, even
        completing; False when some are (the registry then lets ``cleanup_leftovers`` find them)."""
        try:
            alive = _slurm.cancel_until_gone(f"parsl.{self.label}.", timeout=_BLOCKS_GONE_S)
            if alive:
                log.warning(
                    "blocks of %s still in Slurm after %s s: %s",
                    self.label,
                    _BLOCKS_GONE_S,
                    ", ".join(f"{j.job_id} {j.state}" for j in alive),
                )
            return not alive
        except _slurm.SlurmError:
            log.warning("could not scancel the blocks of %s", self.label, exc_info=True)
            return False
