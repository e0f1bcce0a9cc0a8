"""Profile kinds served by Parsl: ``parsl-threads``, ``parsl-local`` and ``parsl-slurm``.

Each kind is a validated pydantic record (saved like every profile) that builds
its Parsl ``Config`` on demand (:meth:`to_parsl_config`; Parsl is imported only
then) and has a pre-flight :meth:`check` returning every problem at once, each
naming the field and the fix. ``check(deep=True)`` on ``parsl-slurm`` also runs
a tiny Slurm job that tests the worker environment on a compute node.

Defaults are tuned for a user watching a notebook: a lost block is noticed in
seconds (heartbeats every 2 s, a manager lost after 10 s), blocks are asked for
when jobs wait (``init_blocks=0``) and given back after ``max_idletime``.
"""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import sys
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from ..._procs import worker_prologue
from ...profiles import slurm as _slurm
from ...profiles.base import NAME_PATTERN, Profile
from ...profiles.checks import oversubscription_problems, vasp_command_problems, vasp_parallel_cmd
from ...profiles.slurm_site import SlurmSite, sbatch_words
from ...vasp.library import settings_file_value
from .envcheck import probe_here, probe_on_node

__all__ = ["ParslThreadsProfile", "ParslLocalProfile", "ParslSlurmProfile"]

_RUNNER = "crystalwidgets.runners.parsl.runner:ParslRunner"
#: HTEX heartbeats: a lost manager (block) is declared after ``_HEARTBEAT_THRESHOLD_S``.
_HEARTBEAT_PERIOD_S = 2
_HEARTBEAT_THRESHOLD_S = 10
_STRATEGY_PERIOD_S = 1.0
#: How often Parsl itself asks Slurm about its blocks (Parsl's own default: 60 s).
_BLOCK_POLL_S = 5
_NO_PARSL = (
    "parsl is not installed in this kernel's environment: pip install 'crystalwidgets[parsl]'"
)


def _parsl_missing() -> str | None:
    import importlib.util

    return _NO_PARSL if importlib.util.find_spec("parsl") is None else None


def _log_config() -> Any:
    from parsl.logconfigs.file import FileLogging

    logging.getLogger("parsl").propagate = False  # quacc's basicConfig would flood the notebook
    return FileLogging(level=logging.INFO)


class _ParslProfile(Profile):
    """What all Parsl kinds share."""

    runner: ClassVar[str] = _RUNNER
    preflight_on_submit: bool = Field(
        True,
        description=(
            "Check the profile before the first submit and refuse to submit when it has "
            "problems (turn off only when the check is wrong for your site)."
        ),
    )

    def to_parsl_config(self, run_dir: str | os.PathLike, label: str) -> Any:
        """The Parsl ``Config`` for one DataFlowKernel of this profile.

        Parameters
        ----------
        run_dir
            Parsl's run dir (logs, block scripts, certificates).
        label
            The executor's label; block job names start with ``parsl.<label>.``.
        """
        raise NotImplementedError

    def preflight(self) -> list[str]:
        """Problems that must stop a submit at once (the fast part of :meth:`check`)."""
        return self.check()


class ParslThreadsProfile(_ParslProfile):
    """Jobs run in threads of this kernel through Parsl's ThreadPoolExecutor.

    For many small jobs (EMT, tblite): no process start, no queue. A running job
    is cancelled at its next Python instruction.
    """

    kind: Literal["parsl-threads"] = "parsl-threads"
    name: str = Field("parsl-threads", pattern=NAME_PATTERN)

    @property
    def runs_here(self) -> bool:
        return True

    max_threads: int | None = Field(
        None, ge=1, le=1024, description="Jobs running at once (default: number of cores)."
    )

    def check(self, *, deep: bool = False) -> list[str]:
        problems = [p for p in (_parsl_missing(),) if p]
        return problems + oversubscription_problems("max_threads", self.max_threads, os.cpu_count() or 1, 8)

    def to_parsl_config(self, run_dir: str | os.PathLike, label: str) -> Any:
        from parsl.config import Config
        from parsl.executors import ThreadPoolExecutor

        return Config(
            executors=[
                ThreadPoolExecutor(label=label, max_threads=self.max_threads or os.cpu_count() or 1)
            ],
            run_dir=str(run_dir),
            strategy="none",
            usage_tracking=0,
            initialize_logging=_log_config(),
        )


class _HtexProfile(_ParslProfile):
    """Fields of the kinds using Parsl's HighThroughputExecutor."""

    max_workers_per_node: int | None = Field(
        None,
        ge=1,
        le=4096,
        description="Jobs running at once on one node (default: cores // cores_per_worker).",
    )
    cores_per_worker: float = Field(
        1.0, gt=0, le=4096, description="Cores each job gets (e.g. the MPI ranks of a VASP run)."
    )
    init_blocks: int = Field(0, ge=0, le=1000, description="Blocks started with the executor.")
    min_blocks: int = Field(0, ge=0, le=1000, description="Blocks kept even when idle.")
    max_blocks: int = Field(1, ge=1, le=1000, description="Most blocks at once.")
    worker_init: str = Field(
        "",
        max_length=10_000,
        description=(
            "Shell lines run before the workers start (module load, activate a venv). Empty: "
            "put this kernel's Python environment first on PATH."
        ),
    )
    max_idletime: float = Field(
        120.0, ge=0, le=86_400, description="Seconds an idle block is kept before it is released."
    )

    @model_validator(mode="after")
    def _blocks_ordered(self) -> _HtexProfile:
        if self.min_blocks > self.max_blocks:
            raise ValueError(
                f"min_blocks ({self.min_blocks}) is above max_blocks ({self.max_blocks}); "
                "lower min_blocks or raise max_blocks"
            )
        if self.init_blocks > self.max_blocks:
            raise ValueError(
                f"init_blocks ({self.init_blocks}) is above max_blocks ({self.max_blocks}); "
                "lower init_blocks or raise max_blocks"
            )
        return self

    def effective_worker_init(self) -> str:
        """``worker_init`` (or, when empty, a line putting this kernel's environment first
        on PATH), then the thread limits of :mod:`crystalwidgets._procs` for
        ``cores_per_worker`` where ``worker_init`` set none."""
        return worker_prologue(self.worker_init, self.cores_per_worker)

    def _executor(self, label: str, provider: Any, address: str | None) -> Any:
        from parsl.executors import HighThroughputExecutor

        return HighThroughputExecutor(
            label=label,
            address=address,
            provider=provider,
            max_workers_per_node=self.max_workers_per_node,
            cores_per_worker=self.cores_per_worker,
            heartbeat_period=_HEARTBEAT_PERIOD_S,
            heartbeat_threshold=_HEARTBEAT_THRESHOLD_S,
            # the interchange runs here, with this kernel's Python (not whatever is on PATH)
            interchange_launch_cmd=[
                sys.executable,
                "-m",
                "parsl.executors.high_throughput.interchange",
            ],
            # block failures are judged by the runner, which knows Slurm's reasons
            block_error_handler=False,
        )

    def _config(self, run_dir: str | os.PathLike, executor: Any) -> Any:
        from parsl.config import Config

        return Config(
            executors=[executor],
            run_dir=str(run_dir),
            strategy="simple",  # htex_auto_scale kills blocks whose workers have not connected yet
            strategy_period=_STRATEGY_PERIOD_S,
            max_idletime=self.max_idletime,
            usage_tracking=0,
            initialize_logging=_log_config(),
        )

    def _cores_problems(self, cpus: int | None, where: str) -> list[str]:
        if cpus and self.cores_per_worker > cpus:
            return [
                f"cores_per_worker: {self.cores_per_worker:g} is more than the {cpus} cores of "
                f"{where}: no worker could start and jobs would wait forever; set it to {cpus} "
                "or fewer"
            ]
        return []

class ParslLocalProfile(_HtexProfile):
    """Jobs run by Parsl's HighThroughputExecutor in worker processes on this machine."""

    kind: Literal["parsl-local"] = "parsl-local"
    name: str = Field("parsl-local", pattern=NAME_PATTERN)

    @property
    def runs_here(self) -> bool:
        return not self.worker_init.strip()  # a worker_init may put the program on the workers' PATH

    max_workers_per_node: int | None = Field(
        None,
        ge=1,
        le=4096,
        description="Jobs running at once (default: cores // cores_per_worker).",
    )

    def check(self, *, deep: bool = False) -> list[str]:
        missing = _parsl_missing()
        if missing:
            return [missing]
        cores = os.cpu_count() or 1
        problems = self._cores_problems(cores, "this machine")
        problems += oversubscription_problems("max_workers_per_node", self.max_workers_per_node, cores)
        return problems + probe_here(self)

    def to_parsl_config(self, run_dir: str | os.PathLike, label: str) -> Any:
        from parsl.launchers import SingleNodeLauncher
        from parsl.providers import LocalProvider

        provider = LocalProvider(
            init_blocks=self.init_blocks,
            min_blocks=self.min_blocks,
            max_blocks=self.max_blocks,
            worker_init=self.effective_worker_init(),
            launcher=SingleNodeLauncher(),
        )
        return self._config(run_dir, self._executor(label, provider, "127.0.0.1"))


_LAUNCHERS = {
    "srun": "SrunLauncher",
    "single-node": "SingleNodeLauncher",
    "simple": "SimpleLauncher",
}


class ParslSlurmProfile(SlurmSite, _HtexProfile):
    """Jobs run by Parsl's HighThroughputExecutor on Slurm nodes (blocks are Slurm jobs).

    Slurm uses your own login: nothing secret is stored.
    """

    kind: Literal["parsl-slurm"] = "parsl-slurm"
    name: str = Field("slurm", pattern=NAME_PATTERN)
    nodes_per_block: int = Field(1, ge=1, le=100_000, description="Nodes in each block.")
    launcher: Literal["srun", "single-node", "simple"] = Field(
        "single-node",
        description=(
            "How workers start in a block: single-node (one worker pool on the first node), "
            "srun (one per node, via srun), simple (the command once)."
        ),
    )
    scheduler_options: str = Field(
        "", max_length=5_000, description="Extra '#SBATCH ...' lines for each block."
    )
    exclusive: bool = Field(True, description="Ask for whole nodes (--exclusive).")
    mem_per_node: int | None = Field(
        None, ge=1, le=1_000_000, description="Memory per node in GB (--mem)."
    )
    address: str | None = Field(
        None,
        description="Address of this machine that compute nodes can reach (default: Parsl probes all).",
    )

    @field_validator("scheduler_options")
    @classmethod
    def _sbatch_lines(cls, value: str) -> str:
        for line in value.splitlines():
            if line.strip() and not line.strip().startswith("#SBATCH "):
                raise ValueError(
                    f"line {line.strip()!r} is not an '#SBATCH ...' option; put shell commands "
                    "in worker_init"
                )
        return value

    def sbatch_options(self) -> list[str]:
        opts = [*super().sbatch_options(), f"--nodes={self.nodes_per_block}"]
        if self.exclusive:
            opts.append("--exclusive")
        if self.mem_per_node:
            opts.append(f"--mem={self.mem_per_node}g")
        return opts + sbatch_words(self.scheduler_options)

    def preflight(self) -> list[str]:
        # the worker environment is judged by the blocks themselves: a worker_init that
        # only works on compute nodes must not stop a submit from the login node
        return self._slurm_problems()

    def check(self, *, deep: bool = False, timeout: float = 120.0) -> list[str]:
        """Every problem found, each naming the field and the fix; empty when fine.

        Parameters
        ----------
        deep
            Also run a tiny Slurm job (1 node, 1 minute) that runs ``worker_init`` on
            a compute node and tests that its Python imports crystalwidgets, quacc and
            a matching parsl. Waits for it at most ``timeout`` seconds.
        timeout
            Seconds the deep check waits for its job (it is cancelled after).
        """
        problems = self._slurm_problems()
        if any(p.startswith(("Slurm", "parsl is not")) for p in problems):
            return problems
        if deep:
            problems += probe_on_node(self, timeout)
        else:
            problems += probe_here(self)
        return problems

    def _slurm_problems(self) -> list[str]:
        missing = _parsl_missing()
        if missing:
            return [missing]
        problems = self.site_problems(
            nodes=self.nodes_per_block,
            mem_per_node_gb=self.mem_per_node,
            cores=("cores_per_worker", self.cores_per_worker),
        )
        if any(p.startswith("Slurm") for p in problems):
            return problems
        return problems + self._vasp_problems()

    def _vasp_problems(self) -> list[str]:
        found = vasp_parallel_cmd(self.worker_init, os.environ, settings_file_value("VASP_PARALLEL_CMD"))
        if not found:
            return []
        return vasp_command_problems(
            *found, launcher=self.launcher, cores_per_worker=self.cores_per_worker,
            nodes_per_block=self.nodes_per_block,
        )

    def to_parsl_config(self, run_dir: str | os.PathLike, label: str) -> Any:
        import parsl.launchers

        launcher = getattr(parsl.launchers, _LAUNCHERS[self.launcher])()
        provider = _slurm_provider_class()(
            partition=self.partition,
            account=self.account,
            qos=self.qos,
            nodes_per_block=self.nodes_per_block,
            init_blocks=self.init_blocks,
            min_blocks=self.min_blocks,
            max_blocks=self.max_blocks,
            walltime=self.walltime,
            scheduler_options=self.scheduler_options,
            worker_init=self.effective_worker_init(),
            exclusive=self.exclusive,
            mem_per_node=self.mem_per_node,
            launcher=launcher,
            cmd_timeout=int(_slurm.TIMEOUT_S),
        )
        return self._config(run_dir, self._executor(label, provider, self.address))


@functools.cache
def _slurm_provider_class() -> type:
    """Parsl's SlurmProvider, asking Slurm every few seconds instead of every minute, and
    running Slurm's commands without the SLURM_* of an allocation this kernel runs in
    (:func:`crystalwidgets.profiles.slurm.submit_env`)."""
    from parsl.providers import SlurmProvider

    class FastPollSlurmProvider(SlurmProvider):
        @property
        def status_polling_interval(self) -> int:
            return _BLOCK_POLL_S

        def execute_wait(self, cmd: str, timeout: float | None = None) -> tuple[int, str, str]:
            # Parsl's own runs sbatch/squeue/scancel with this process's environment:
            # inside an allocation that would hand the parent's SLURM_* to the blocks
            proc = subprocess.run(
                cmd,
                shell=True,
                capture_output=True,
                text=True,
                timeout=self.cmd_timeout if timeout is None else timeout,
                env=_slurm.submit_env(),
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            return proc.returncode, proc.stdout, proc.stderr

    return FastPollSlurmProvider
