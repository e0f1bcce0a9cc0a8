"""Pre-flight checks as pure functions: facts in, every problem out, each naming the field
and the fix. The profiles gather the facts (Slurm's answers, the environment) and call these;
tests call them with made-up facts.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

from .slurm import Partition, format_minutes, parse_walltime

__all__ = [
    "SECRET_TEXT",
    "VASP_CMD_VAR",
    "oversubscription_problems",
    "count_option",
    "partition_fit_problems",
    "pick_partition",
    "secret_text_problems",
    "slurm_error_field",
    "vasp_command_problems",
    "vasp_parallel_cmd",
    "worker_exports",
]

#: The variable quacc reads for the MPI launcher of VASP.
VASP_CMD_VAR = "QUACC_VASP_PARALLEL_CMD"


def oversubscription_problems(field: str, value: int | None, cores: int, factor: int = 4) -> list[str]:
    """``field`` asks for more than ``factor`` jobs (processes or threads) per core of ``cores``."""
    if value and value > factor * cores:
        return [
            f"{field}: {value} is far above this machine's {cores} cores, which only slows each "
            f"job down; set it to {cores} or fewer (or leave it empty)"
        ]
    return []


def pick_partition(parts: Mapping[str, Partition], requested: str | None) -> tuple[Partition | None, list[str]]:
    """The partition a profile asks for (else the cluster's default), or the problem why none."""
    if requested:
        part = parts.get(requested)
        if part is None:
            return None, [
                f"partition: Slurm has no partition {requested!r}; use one of "
                f"{', '.join(parts) or '(none visible)'}"
            ]
        return part, []
    part = next((p for p in parts.values() if p.default), None)
    if part is None:
        return None, [f"partition: this cluster has no default partition; set one of {', '.join(parts)}"]
    return part, []


def partition_fit_problems(
    part: Partition, *, walltime: str, nodes_per_block: int, mem_per_node_gb: int | None
) -> list[str]:
    """What of a block's request the partition cannot give: state, MaxTime, nodes, memory."""
    where = f"partition {part.name}"
    problems = []
    if part.state != "UP":
        problems.append(
            f"partition: {where} is {part.state}, so no block would start; pick another "
            "partition or wait until it is UP"
        )
    minutes = parse_walltime(walltime)
    if part.max_time_min is not None and minutes is not None and minutes > part.max_time_min:
        limit = format_minutes(part.max_time_min)
        problems.append(
            f"walltime: {walltime} is over {where}'s MaxTime {limit}; Slurm would reject the "
            f"blocks or keep them pending forever: set walltime to {limit} or less"
        )
    limits = [n for n in (part.max_nodes, part.total_nodes) if n]
    node_limit = min(limits) if limits else None
    if node_limit and nodes_per_block > node_limit:
        problems.append(
            f"nodes_per_block: {nodes_per_block} is more than {where} allows per job "
            f"({node_limit}); set it to {node_limit} or fewer"
        )
    if mem_per_node_gb and part.mem_per_node_mb and mem_per_node_gb * 1024 > part.mem_per_node_mb:
        problems.append(
            f"mem_per_node: {mem_per_node_gb} GB is more than a node of {where} has "
            f"({part.mem_per_node_mb // 1024} GB); lower it or leave it empty"
        )
    return problems


def slurm_error_field(error: str) -> str:
    """The profile field an sbatch refusal is about (``scheduler_options`` when unclear)."""
    low = error.lower()
    for word, field in (
        ("account", "account"),
        ("qos", "qos"),
        ("partition", "partition"),
        ("time limit", "walltime"),
        ("node count", "nodes_per_block"),
        ("memory", "mem_per_node"),
    ):
        if word in low:
            return field
    return "scheduler_options"


def worker_exports(worker_init: str) -> dict[str, str]:
    """The variables a ``worker_init`` exports (``export NAME=value`` lines), last one wins.

    >>> worker_exports('module load vasp\nexport VASP_PP_PATH="$HOME/pp"')
    {'VASP_PP_PATH': '$HOME/pp'}
    """
    found: dict[str, str] = {}
    for line in worker_init.splitlines():
        m = re.match(r"\s*export\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if m:
            try:
                words = shlex.split(m.group(2))
            except ValueError:  # unbalanced quotes: the shell would fail too
                continue
            found[m.group(1)] = words[0] if words else ""
    return found


def vasp_parallel_cmd(
    worker_init: str, environ: Mapping[str, str], settings_file: str | None = None
) -> tuple[str, str] | None:
    """:data:`VASP_CMD_VAR` as the workers will see it, and where it was set.

    ``worker_init`` wins, then this kernel's environment (copied into the blocks), then
    ``settings_file``: the VASP_PARALLEL_CMD of quacc's settings file, as quacc reads it
    where no variable sets it.
    """
    found = None
    for line in worker_init.splitlines():
        m = re.match(rf"\s*(?:export\s+)?{VASP_CMD_VAR}=(.*)$", line)
        if m:
            words = shlex.split(m.group(1)) or [""]
            found = (words[0], "worker_init")
    if found is None and environ.get(VASP_CMD_VAR):
        found = (environ[VASP_CMD_VAR], "this kernel's environment (copied into the blocks)")
    if found is None and settings_file:
        found = (settings_file, "VASP_PARALLEL_CMD in quacc's settings file")
    return found


def vasp_command_problems(
    cmd: str, where: str, *, launcher: str, cores_per_worker: float, nodes_per_block: int
) -> list[str]:
    """Ways a VASP MPI command line cannot work inside the profile's blocks."""
    words = shlex.split(cmd)
    problems = []
    if launcher == "srun" and words[:1] == ["srun"] and "--overlap" not in words:
        problems.append(
            f"launcher: {VASP_CMD_VAR} ({cmd!r}, from {where}) starts VASP with srun inside a "
            "worker that the srun launcher already runs as a job step holding the node's "
            "CPUs, so VASP waits forever; use launcher='single-node', or add --overlap "
            "to the command"
        )
    ranks = count_option(words, ("-n", "-np", "--ntasks", "--np"))
    if ranks and ranks > cores_per_worker * (1 if launcher == "srun" else nodes_per_block):
        problems.append(
            f"cores_per_worker: {VASP_CMD_VAR} ({cmd!r}, from {where}) starts {ranks} MPI "
            f"ranks but each job gets cores_per_worker={cores_per_worker:g}, so jobs sharing a "
            f"node oversubscribe it; set cores_per_worker={ranks} (and max_workers_per_node "
            "to the node's cores // that)"
        )
    nodes = count_option(words, ("-N", "--nodes"))
    if nodes and nodes > nodes_per_block:
        problems.append(
            f"nodes_per_block: {VASP_CMD_VAR} ({cmd!r}, from {where}) asks for {nodes} nodes "
            f"but each block has {nodes_per_block}; set nodes_per_block={nodes}"
        )
    return problems


def count_option(words: list[str], names: tuple[str, ...]) -> int | None:
    """The integer given to the first of ``names`` in a command line (``-n 4``, ``--ntasks=4``)."""
    for i, word in enumerate(words):
        for name in names:
            value = None
            if word == name and i + 1 < len(words):
                value = words[i + 1]
            elif name.startswith("--") and word.startswith(name + "="):
                value = word.split("=", 1)[1]
            if value is not None and value.isdigit():
                return int(value)
    return None


#: Text that looks like a secret, and what to call it in a message (the secret is never shown).
SECRET_TEXT: tuple[tuple[re.Pattern[str], str], ...] = (
    # NAME=value where the name says secret and the value is written out (not $VAR or $(cat ...))
    (
        re.compile(
            r"(?i)\b(?P<name>[A-Z0-9_]*(?:TOKEN|PASSWORD|PASSWD|SECRET|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY"
            r"|CREDENTIALS?)[A-Z0-9_]*|PASS|[A-Z0-9_]+_PASS)\s*=\s*['\"]?(?![$'\"\s])\S"
        ),
        "{name}=...",
    ),
    (re.compile(r"(?i)--(?P<name>password|passwd|token|api-key|secret)(?:=|\s+)['\"]?(?![$'\"\s-])\S"), "--{name} ..."),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id (AKIA...)"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"), "a GitHub token (ghp_...)"),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"), "a GitHub token (github_pat_...)"),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), "a GitLab token (glpat-...)"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "a Slack token (xox...)"),
    (re.compile(r"\bhf_[A-Za-z0-9]{30,}"), "a Hugging Face token (hf_...)"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{32,}"), "an API key (sk-...)"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"), "a password in a URL (user:password@host)"),
)


def secret_text_problems(fields: Mapping[str, str]) -> list[tuple[str, str]]:
    """Free text that looks like it holds a secret (a token, a password, a key), per field.

    Parameters
    ----------
    fields
        ``{field: text}`` of a profile's free-text fields (``worker_init``,
        ``scheduler_options``, ``description``...).

    Returns
    -------
    list of (field, message)
        One per line that looks like a secret; the message names the line and what it
        looks like, never the secret itself, and says what to do instead.
    """
    problems = []
    for field, text in fields.items():
        if not isinstance(text, str):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for pattern, what in SECRET_TEXT:
                m = pattern.search(line)
                if m is None:
                    continue
                shown = what.format(**{k: v for k, v in m.groupdict().items() if v})
                where = f"line {number}" if "\n" in text.strip() else "it"
                problems.append(
                    (
                        field,
                        f"{where} holds what looks like a secret: {shown}; profiles.json keeps it as "
                        "plain text: read it when the job runs instead, from a file only you can "
                        "read (export TOKEN=$(cat ~/.config/mytoken)) or from your environment, and "
                        "change the secret if it was shared",
                    )
                )
                break
    return problems
