"""The pre-flight checks as pure functions, on made-up facts (no Slurm needed)."""

from __future__ import annotations

import pytest

from crystalwidgets.profiles.checks import (
    count_option,
    partition_fit_problems,
    pick_partition,
    slurm_error_field,
    vasp_command_problems,
    vasp_parallel_cmd,
)
from crystalwidgets.profiles.slurm import Partition, format_minutes, parse_walltime


def part(**kw) -> Partition:
    facts = dict(
        name="debug", state="UP", default=True, max_time_min=60.0, max_nodes=2, total_nodes=4,
        total_cpus=32, cpus_per_node=8, mem_per_node_mb=16_384,
    )
    facts.update(kw)
    return Partition(**facts)


@pytest.mark.parametrize(
    "text, minutes",
    [("30", 30.0), ("90", 90.0), ("01:30", 1.5), ("00:30:00", 30.0), ("48:00:00", 2880.0),
     ("1-00", 1440.0), ("1-02:03", 1563.0), ("2-00:00:30", 2880.5), ("UNLIMITED", None), (" infinite ", None)],
)
def test_walltime_forms(text, minutes):
    assert parse_walltime(text) == minutes


@pytest.mark.parametrize("text", ["25:99", "00:60:00", "01:00:60", "1-24:00", "1-00:75", "1h", "", "-5", "1:2:3:4"])
def test_walltime_out_of_range_or_malformed_is_an_error_naming_the_forms(text):
    with pytest.raises(ValueError, match="HH:MM:SS"):
        parse_walltime(text)


def test_format_minutes_round_trips():
    assert format_minutes(90.5) == "01:30:30" and format_minutes(None) == "UNLIMITED"
    assert parse_walltime(format_minutes(1563.0)) == 1563.0


def test_pick_partition_requested_default_and_missing():
    parts = {"debug": part(), "long": part(name="long", default=False)}
    assert pick_partition(parts, "long")[0].name == "long"
    assert pick_partition(parts, None) == (parts["debug"], [])
    none, problems = pick_partition(parts, "gpu")
    assert none is None and problems == ["partition: Slurm has no partition 'gpu'; use one of debug, long"]
    _, problems = pick_partition({"long": part(name="long", default=False)}, None)
    assert problems == ["partition: this cluster has no default partition; set one of long"]


def test_partition_fit_names_each_field_over_the_limits():
    fits = partition_fit_problems(part(), walltime="00:30:00", nodes_per_block=2, mem_per_node_gb=16)
    assert fits == []
    problems = partition_fit_problems(
        part(state="DRAIN"), walltime="02:00:00", nodes_per_block=3, mem_per_node_gb=32
    )
    assert [p.split(":")[0] for p in problems] == ["partition", "walltime", "nodes_per_block", "mem_per_node"]
    assert "partition debug is DRAIN" in problems[0]
    assert "set walltime to 01:00:00 or less" in problems[1]
    assert "set it to 2 or fewer" in problems[2]
    assert "(16 GB)" in problems[3]
    # no limits known: nothing to say
    free = part(max_time_min=None, max_nodes=None, total_nodes=0, mem_per_node_mb=None)
    assert partition_fit_problems(free, walltime="99:00:00", nodes_per_block=64, mem_per_node_gb=512) == []


@pytest.mark.parametrize(
    "error, field",
    [("Invalid account or account/partition combination specified", "account"),
     ("Invalid qos specification", "qos"), ("invalid partition specified: x", "partition"),
     ("Requested time limit is invalid", "walltime"), ("Node count specification invalid", "nodes_per_block"),
     ("Memory specification can not be satisfied", "mem_per_node"), ("something else", "scheduler_options")],
)
def test_slurm_error_field(error, field):
    assert slurm_error_field(error) == field


def test_vasp_parallel_cmd_worker_init_wins_over_the_environment():
    env = {"QUACC_VASP_PARALLEL_CMD": "mpirun -np 8"}
    assert vasp_parallel_cmd("", env) == ("mpirun -np 8", "this kernel's environment (copied into the blocks)")
    init = "module load vasp\nexport QUACC_VASP_PARALLEL_CMD='srun -n 4'\n"
    assert vasp_parallel_cmd(init, env) == ("srun -n 4", "worker_init")
    assert vasp_parallel_cmd("", {}) is None


def test_vasp_command_problems():
    ok = vasp_command_problems("srun --overlap -n 4", "worker_init", launcher="srun", cores_per_worker=4, nodes_per_block=1)
    assert ok == []
    problems = vasp_command_problems("srun -n 8 -N 2", "worker_init", launcher="srun", cores_per_worker=4, nodes_per_block=1)
    assert [p.split(":")[0] for p in problems] == ["launcher", "cores_per_worker", "nodes_per_block"]
    assert "--overlap" in problems[0] and "cores_per_worker=8" in problems[1] and "nodes_per_block=2" in problems[2]
    # single-node launcher: ranks may span the block's nodes
    assert vasp_command_problems("mpirun -np 8", "env", launcher="single-node", cores_per_worker=4, nodes_per_block=2) == []


@pytest.mark.parametrize(
    "words, value",
    [(["mpirun", "-np", "4"], 4), (["srun", "--ntasks=16"], 16), (["srun", "-n", "x"], None),
     (["srun"], None), (["srun", "-n"], None), (["srun", "--ntasks", "3", "-n", "9"], 3)],
)
def test_count_option(words, value):
    assert count_option(words, ("-n", "-np", "--ntasks", "--np")) == value


def test_oversubscription_names_the_field_and_the_cores():
    from crystalwidgets.profiles.checks import oversubscription_problems

    assert oversubscription_problems("max_workers", 8, cores=2) == []
    assert oversubscription_problems("max_workers", None, cores=2) == []
    [problem] = oversubscription_problems("max_workers", 9, cores=2)
    assert problem.startswith("max_workers: 9 is far above this machine's 2 cores") and "set it to 2" in problem
    assert oversubscription_problems("max_threads", 16, cores=2, factor=8) == []
    assert oversubscription_problems("max_threads", 17, cores=2, factor=8)[0].startswith("max_threads: 17")


@pytest.mark.parametrize(
    "text, shown, secret",
    [
        ("export TOKEN=abc123", "TOKEN=...", "abc123"),
        ("module load vasp\nexport PASSWORD='hunter2'", "PASSWORD=...", "hunter2"),
        ("export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG", "AWS_SECRET_ACCESS_KEY=...", "wJalrXUtnFEMI"),
        ("aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE", "an AWS access key id (AKIA...)", "IOSFODNN7"),
        ("git clone https://ghp_" + "a" * 36 + "@github.com/me/repo", "a GitHub token (ghp_...)", "a" * 36),
        ("pip install --index-url https://me:s3cret@pypi.example.org/simple x", "a password in a URL", "s3cret"),
        ("mytool --password s3cret", "--password ...", "s3cret"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", "a private key", "OPENSSH"),
    ],
)
def test_secret_looking_text_is_found_and_never_repeated(text, shown, secret):
    from crystalwidgets.profiles.checks import secret_text_problems

    ((field, message),) = secret_text_problems({"worker_init": text})
    assert field == "worker_init" and shown in message
    assert "profiles.json keeps it as plain text" in message
    assert secret not in message


@pytest.mark.parametrize(
    "text",
    [
        "export TOKEN=$(cat ~/.config/token)",  # read when the job runs: the fix
        'export PASSWORD="$MY_PASSWORD"',
        "export BYPASS_CACHE=1\nsource ~/venv/bin/activate",
        "#SBATCH --mem=4G\n#SBATCH --constraint=cpu",
        "export OMP_NUM_THREADS=4",
    ],
)
def test_ordinary_shell_lines_are_not_secrets(text):
    from crystalwidgets.profiles.checks import secret_text_problems

    assert secret_text_problems({"worker_init": text}) == []


def test_saving_a_profile_with_a_token_warns(cw_home):
    from crystalwidgets.errors import SecretTextWarning
    from crystalwidgets.profiles import ProfileStore

    with pytest.warns(SecretTextWarning, match=r"profile 'p': worker_init: it holds what looks like a secret: TOKEN=\.\.\."):
        ProfileStore().save({"kind": "parsl-local", "name": "p", "worker_init": "export TOKEN=abc"})


def test_environment_values_of_a_kind_are_checked_as_assignments():
    from typing import ClassVar, Literal

    from crystalwidgets.profiles import Profile

    class EnvProfile(Profile):
        kind: Literal["env-test"] = "env-test"
        env: dict[str, str] = {}
        runner: ClassVar[str] = "crystalwidgets.runners.local:LocalRunner"

    profile = EnvProfile(name="e", env={"OMP_NUM_THREADS": "4", "HF_TOKEN": "abc123"})
    ((field, message),) = profile.warnings()
    assert field == "env['HF_TOKEN']" and "HF_TOKEN=..." in message and "abc123" not in message
