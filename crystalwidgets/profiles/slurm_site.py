"""What every kind whose blocks are Slurm jobs shares: the fields naming where the blocks
go (partition, account, qos, walltime) and the site check that asks Slurm about them.

Engines subclass :class:`SlurmSite` beside their own base (``parsl-slurm``,
``dask-slurm``), so both check the same things with the same messages.
"""

from __future__ import annotations

import re
import shlex

from pydantic import Field, field_validator

from . import slurm as _slurm
from .base import Profile
from .checks import partition_fit_problems, pick_partition, slurm_error_field

__all__ = ["SlurmSite", "SHELL_WORD", "sbatch_words"]

#: A value passed to sbatch as one word.
SHELL_WORD = re.compile(r"^[A-Za-z0-9_.,:@+%=/-]+$")


def sbatch_words(text: str) -> list[str]:
    """The sbatch options in lines of ``text`` (``#SBATCH --x=1`` or ``--x=1``), as words."""
    words: list[str] = []
    for line in text.splitlines():
        if line.strip():
            words += shlex.split(line.strip().removeprefix("#SBATCH"))
    return words


class SlurmSite(Profile):
    """Fields of the kinds whose blocks are Slurm jobs. Slurm uses your own login."""

    partition: str | None = Field(
        None, description="Slurm partition (default: the cluster's default)."
    )
    account: str | None = Field(None, description="Slurm account (-A) charged for the blocks.")
    qos: str | None = Field(None, description="Slurm QOS (--qos).")
    walltime: str = Field("00:30:00", description="Time limit of each block, HH:MM:SS.")

    # ``address`` (where compute nodes reach this machine) belongs to the engines' kinds
    @field_validator("partition", "account", "qos", "address", check_fields=False)
    @classmethod
    def _one_word(cls, value: str | None) -> str | None:
        if value is not None and not SHELL_WORD.match(value):
            raise ValueError(f"{value!r} must be one word (letters, digits, . _ - : , @ + % = /)")
        return value or None

    @field_validator("walltime")
    @classmethod
    def _walltime(cls, value: str) -> str:
        minutes = _slurm.parse_walltime(value)  # ValueError names the forms
        if minutes is None or minutes <= 0:
            raise ValueError(f"{value!r}: a block needs a finite time limit, e.g. 01:00:00")
        return value.strip()

    def sbatch_options(self) -> list[str]:
        """The sbatch options of one block (the engine's own are added by subclasses)."""
        opts = [f"--time={self.walltime}"]
        if self.partition:
            opts.append(f"--partition={self.partition}")
        if self.account:
            opts.append(f"--account={self.account}")
        if self.qos:
            opts.append(f"--qos={self.qos}")
        return opts

    def site_problems(
        self,
        *,
        nodes: int = 1,
        mem_per_node_gb: int | None = None,
        cores: tuple[str, float] | None = None,
    ) -> list[str]:
        """Ask Slurm whether it would run the blocks: commands on PATH, the partition, its
        limits against ``walltime``/``nodes``/memory, a job's ``cores`` (field, value) against
        a node's, then ``sbatch --test-only`` with :meth:`sbatch_options` (nothing is queued).
        A problem starts with ``Slurm`` when Slurm itself cannot be asked."""
        absent = _slurm.missing_commands()
        if absent:
            return [
                f"Slurm: {', '.join(absent)} not found on PATH: run on a machine that can submit "
                "to Slurm (a login node), or load Slurm's module before starting Jupyter"
            ]
        try:
            parts = _slurm.partitions()
        except _slurm.SlurmError as exc:
            return [f"Slurm: {exc}"]
        part, problems = pick_partition(parts, self.partition)
        if part is None:
            return problems
        problems = partition_fit_problems(
            part, walltime=self.walltime, nodes_per_block=nodes, mem_per_node_gb=mem_per_node_gb
        )
        if cores is not None:
            field, value = cores
            cpus = part.cpus_per_node
            if cpus and value > cpus:
                problems.append(
                    f"{field}: {value:g} is more than the {cpus} cores of a node of partition "
                    f"{part.name}: no worker could start and jobs would wait forever; set it to "
                    f"{cpus} or fewer"
                )
        if not problems:  # let Slurm judge account, qos and options (nothing is queued)
            error = _slurm.test_submit(self.sbatch_options())
            if error:
                problems.append(f"{slurm_error_field(error)}: Slurm would refuse the blocks: {error}")
        return problems
