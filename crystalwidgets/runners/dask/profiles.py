"""Profile kinds served by Dask: ``dask-local``, ``dask-slurm`` and ``dask-scheduler``.

Each kind is a validated pydantic record that builds its cluster on demand
(:meth:`make_cluster`; dask is imported only then) and has a pre-flight
:meth:`check` returning every problem at once, each naming the field and the fix.

- ``dask-local``: an embedded ``distributed.LocalCluster`` of worker processes, started
  by the runner on the first submit; nothing for the user to run.
- ``dask-slurm``: a dask-jobqueue ``SLURMCluster`` (its blocks are Slurm jobs running
  Dask workers), adapting between ``adapt_min`` and ``adapt_max`` blocks; its Slurm
  fields and checks are those every Slurm kind shares (:class:`SlurmSite`).
- ``dask-scheduler``: a scheduler you run yourself, by address. Its jobs outlive the
  kernel (they are published on the scheduler) and are reattached by the next kernel.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
import threading
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from ..._files import private_dir
from ..._procs import THREAD_VARS, worker_prologue
from ...profiles import slurm as _slurm
from ...profiles.base import NAME_PATTERN, Profile
from ...profiles.checks import oversubscription_problems
from ...profiles.slurm_site import SlurmSite, sbatch_words

__all__ = ["DaskLocalProfile", "DaskSlurmProfile", "DaskSchedulerProfile"]

_RUNNER = "crystalwidgets.runners.dask.runner:DaskRunner"
_NO_DASK = "dask is not installed in this kernel's environment: pip install 'crystalwidgets[dask]'"
_NO_JOBQUEUE = (
    "dask-jobqueue is not installed in this kernel's environment: pip install 'crystalwidgets[dask]'"
)
#: How long the check waits for a scheduler to answer (seconds).
CONNECT_TIMEOUT_S = 5.0


def _missing(*modules: str) -> list[str]:
    texts = {"distributed": _NO_DASK, "dask_jobqueue": _NO_JOBQUEUE}
    return [texts[m] for m in modules if importlib.util.find_spec(m) is None]


class _DaskProfile(Profile):
    """What all Dask kinds share."""

    runner: ClassVar[str] = _RUNNER
    #: Whether the runner keeps its jobs alive past the kernel (published on the scheduler).
    outlives_kernel: ClassVar[bool] = False
    preflight_on_submit: bool = Field(
        True,
        description=(
            "Check the profile before the first submit and refuse to submit when it has "
            "problems (turn off only when the check is wrong for your site)."
        ),
    )

    def preflight(self) -> list[str]:
        """Problems that must stop a submit at once (the fast part of :meth:`check`)."""
        return self.check()

    def make_cluster(self, run_dir: Path, label: str) -> Any:
        """The cluster the runner's client connects to, or an address (str) of one."""
        raise NotImplementedError


class DaskLocalProfile(_DaskProfile):
    """Jobs run in a Dask ``LocalCluster`` of worker processes on this machine."""

    kind: Literal["dask-local"] = "dask-local"
    name: str = Field("dask-local", pattern=NAME_PATTERN)

    @property
    def runs_here(self) -> bool:
        return True

    n_workers: int | None = Field(
        None, ge=1, le=1024, description="Worker processes, i.e. jobs running at once (default: number of cores)."
    )
    memory_limit_gb: float | None = Field(
        None,
        gt=0,
        le=100_000,
        description="Memory each worker may use, in GB, before Dask restarts it (default: no limit).",
    )

    def check(self, *, deep: bool = False) -> list[str]:
        missing = _missing("distributed")
        if missing:
            return missing
        return oversubscription_problems("n_workers", self.n_workers, os.cpu_count() or 1)

    def make_cluster(self, run_dir: Path, label: str) -> Any:
        import logging

        from distributed import LocalCluster

        env = {var: os.environ.get(var, "1") for var in THREAD_VARS}
        return LocalCluster(
            name=label,
            n_workers=self.n_workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # a free port (the link is in the runner's health)
            silence_logs=logging.ERROR,
            local_directory=str(run_dir),
            memory_limit=f"{self.memory_limit_gb}GB" if self.memory_limit_gb else 0,
            env=env,
        )


class DaskSlurmProfile(SlurmSite, _DaskProfile):
    """Jobs run by Dask workers in Slurm jobs (dask-jobqueue ``SLURMCluster``; blocks are
    Slurm jobs, asked for while jobs wait). Slurm uses your own login: nothing secret is
    stored."""

    kind: Literal["dask-slurm"] = "dask-slurm"
    name: str = Field("dask-slurm", pattern=NAME_PATTERN)
    cores: int = Field(1, ge=1, le=4096, description="Cores of each block (one Slurm job).")
    memory: str = Field("4GB", description="Memory of each block, e.g. 4GB or 500MB.")
    processes: int = Field(
        1, ge=1, le=4096, description="Worker processes in each block, i.e. its jobs running at once."
    )
    adapt_min: int = Field(0, ge=0, le=1000, description="Blocks kept even when no job waits.")
    adapt_max: int = Field(1, ge=1, le=1000, description="Most blocks at once.")
    job_extra_directives: str = Field(
        "",
        max_length=5_000,
        description="Extra sbatch options for each block, one per line (e.g. --constraint=cpu).",
    )
    worker_init: str = Field(
        "",
        max_length=10_000,
        description=(
            "Shell lines run before the workers start (module load, activate a venv). Empty: "
            "put this kernel's Python environment first on PATH."
        ),
    )
    address: str | None = Field(
        None,
        description="Address or interface of this machine that compute nodes can reach (default: all).",
    )

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        try:
            from dask.utils import parse_bytes

            size = parse_bytes(value)
        except ImportError:
            return value.strip()
        except (ValueError, TypeError):
            raise ValueError(f"{value!r} is not a memory size; write e.g. 4GB or 500MB") from None
        if size < 1e8:
            raise ValueError(f"{value!r} is under 100 MB, too little for a Dask worker; write e.g. 4GB")
        return value.strip()

    @field_validator("job_extra_directives")
    @classmethod
    def _directives(cls, value: str) -> str:
        for line in value.splitlines():
            text = line.strip().removeprefix("#SBATCH").strip()
            if text and not text.startswith("-"):
                raise ValueError(
                    f"line {line.strip()!r} is not an sbatch option (--name=value); put shell "
                    "commands in worker_init"
                )
        return value

    def _extra(self) -> list[str]:
        extra = sbatch_words(self.job_extra_directives)
        if self.qos:
            extra.append(f"--qos={self.qos}")
        return extra

    def sbatch_options(self) -> list[str]:
        mem_mb = self._memory_mb()
        opts = [*super().sbatch_options(), "--nodes=1", "--ntasks=1", f"--cpus-per-task={self.cores}"]
        if mem_mb:
            opts.append(f"--mem={mem_mb}M")
        return opts + sbatch_words(self.job_extra_directives)

    def _memory_mb(self) -> int | None:
        try:
            from dask.utils import parse_bytes
        except ImportError:
            return None
        return max(1, int(parse_bytes(self.memory) / 2**20))

    def check(self, *, deep: bool = False) -> list[str]:
        missing = _missing("distributed", "dask_jobqueue")
        if missing:
            return missing
        mem = self._memory_mb()
        problems = self.site_problems(
            nodes=1,
            mem_per_node_gb=max(1, -(-mem // 1024)) if mem else None,
            cores=("cores", self.cores),
        )
        if self.processes > self.cores:
            problems.append(
                f"processes: {self.processes} worker processes share {self.cores} cores of a "
                f"block; raise cores to {self.processes} or lower processes"
            )
        if self.adapt_min > self.adapt_max:
            problems.append(
                f"adapt_min: {self.adapt_min} is above adapt_max ({self.adapt_max}); lower "
                "adapt_min or raise adapt_max"
            )
        return problems

    def prologue(self) -> list[str]:
        """The shell lines before each block's workers start."""
        return worker_prologue(self.worker_init, self.cores / self.processes).splitlines()

    def make_cluster(self, run_dir: Path, label: str) -> Any:
        import logging

        SLURMCluster = _dask_jobqueue().SLURMCluster

        logs = run_dir / "slurm-logs"
        logs.mkdir(mode=0o700, parents=True, exist_ok=True)
        cluster = SLURMCluster(
            job_cls=_clean_env_job_class(),
            name=label,
            job_name=label,
            queue=self.partition,
            account=self.account,
            walltime=self.walltime,
            # one thread per worker process: each runs one job at a time in its job process,
            # with cores // processes cores (the thread limits of the prologue); Slurm gives
            # the block all of ``cores``
            cores=self.processes,
            job_cpu=self.cores,
            memory=self.memory,
            processes=self.processes,
            job_extra_directives=self._extra(),
            job_script_prologue=self.prologue(),
            python=sys.executable,
            log_directory=str(logs),
            local_directory=str(run_dir),
            # TLS with throw-away certificates: the scheduler listens where every user of the
            # cluster can reach it, and a plain Dask scheduler runs any task it is sent
            security=True,
            shared_temp_directory=str(private_dir(run_dir / "tls")),
            scheduler_options={"host": self.address or "0.0.0.0", "dashboard": False},
            silence_logs=logging.ERROR,
            death_timeout=60,
        )
        cluster.adapt(minimum_jobs=self.adapt_min, maximum_jobs=self.adapt_max)
        return cluster


class DaskSchedulerProfile(_DaskProfile):
    """Jobs run on a Dask scheduler you started yourself (``dask scheduler``, a
    ``dask-gateway`` cluster, ...). Jobs outlive the kernel and are reattached."""

    kind: Literal["dask-scheduler"] = "dask-scheduler"
    name: str = Field("dask", pattern=NAME_PATTERN)
    address: str = Field(
        ..., description="The scheduler's address, e.g. tcp://login1:8786.", min_length=1, max_length=500
    )
    outlives_kernel: ClassVar[bool] = True

    @field_validator("address")
    @classmethod
    def _scheduler_address(cls, value: str) -> str:
        value = value.strip()
        if "://" not in value:
            value = f"tcp://{value}"
        proto, _, rest = value.partition("://")
        if proto not in ("tcp", "tls", "ws", "wss", "inproc", "ucx") or not rest:
            raise ValueError(f"{value!r} is not a scheduler address; write e.g. tcp://login1:8786")
        return value

    def check(self, *, deep: bool = False, timeout: float = CONNECT_TIMEOUT_S) -> list[str]:
        missing = _missing("distributed")
        if missing:
            return missing
        problem = _reachable(self.address, timeout)
        return [problem] if problem else []

    def make_cluster(self, run_dir: Path, label: str) -> Any:
        return self.address


def _reachable(address: str, timeout: float) -> str | None:
    """None when a Dask scheduler answers at ``address`` within ``timeout`` seconds."""
    from distributed import Client

    box: dict[str, Any] = {}

    def attempt() -> None:
        try:
            client = Client(address, timeout=timeout, set_as_default=False)
            box["workers"] = len(client.scheduler_info(n_workers=-1).get("workers", {}))
            client.close(timeout=timeout)
        except Exception as exc:  # noqa: BLE001  (any failure is the answer)
            box["error"] = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=attempt, name="cw-dask-check", daemon=True)
    thread.start()
    thread.join(timeout + 2.0)  # Dask's own timeout bounds it; this bounds a stuck handshake too
    if thread.is_alive() or "error" in box:
        why = box.get("error", f"no answer within {timeout:g} s")
        return (
            f"address: no Dask scheduler answers at {address} ({why}); start one "
            "(`dask scheduler`) or correct the address"
        )
    return None


@functools.cache
def _clean_env_job_class() -> type:
    """dask-jobqueue's SLURMJob, running sbatch and scancel without the SLURM_* of an
    allocation this kernel runs in (:func:`crystalwidgets.profiles.slurm.submit_env`)."""
    SLURMJob = _dask_jobqueue().slurm.SLURMJob

    class CleanEnvSLURMJob(SLURMJob):
        @staticmethod
        async def _call(cmd: list[str], **kwargs: Any) -> str:
            kwargs.setdefault("env", _slurm.submit_env())
            return await SLURMJob._call(cmd, **kwargs)

    return CleanEnvSLURMJob


_IMPORT_LOCK = threading.Lock()


def _dask_jobqueue() -> Any:
    """``dask_jobqueue``, imported without its import-time SIGINT handler.

    dask-jobqueue 0.9.0's ``runner`` module calls ``signal.signal(SIGINT, sys.exit)`` when
    imported: from the runner's thread that raises "signal only works in main thread",
    and from the main thread it would replace the kernel's interrupt handler (an interrupt
    would then exit the kernel). The call is skipped for that one import.
    """
    import signal
    import sys as _sys

    if "dask_jobqueue" in _sys.modules:
        return _sys.modules["dask_jobqueue"]
    with _IMPORT_LOCK:
        real = signal.signal

        def keep_handlers(signum: int, handler: Any) -> Any:
            if signum == signal.SIGINT:
                return signal.getsignal(signum)
            return real(signum, handler)

        signal.signal = keep_handlers
        try:
            import dask_jobqueue
        finally:
            signal.signal = real
    return dask_jobqueue
