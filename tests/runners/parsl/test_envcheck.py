"""Judging what the worker-environment probe printed (a pure function; no Slurm needed)."""

from __future__ import annotations

import json
from importlib.metadata import version

from crystalwidgets.runners.parsl.envcheck import worker_env_problems


def _printed(**found) -> str:
    return "module loaded\nCW-ENV " + json.dumps({"python": "/opt/venv/bin/python", **found}) + "\n"


def test_a_good_environment_has_no_problem():
    ours = version("parsl")
    assert worker_env_problems(_printed(crystalwidgets="0.1.0", quacc="1.8.2", parsl=ours), "a node", "source x") == []


def test_no_worker_pool_on_path_names_worker_init_and_the_fix():
    [problem] = worker_env_problems("CW-NOPOOL\n", "a compute node", "")
    assert problem.startswith("worker_init (empty: this kernel's PATH): on a compute node")
    assert "process_worker_pool.py" in problem and "activate" in problem


def test_missing_modules_and_another_parsl_are_both_said():
    problems = worker_env_problems(_printed(crystalwidgets=None, quacc="1.8.2", parsl="1999.1.1"), "this host", "x")
    assert len(problems) == 2
    assert "cannot import crystalwidgets" in problems[0] and "/opt/venv/bin/python" in problems[0]
    assert "parsl 1999.1.1" in problems[1] and f"parsl=={version('parsl')}" in problems[1]


def test_a_worker_init_that_stops_early_shows_its_output():
    [problem] = worker_env_problems("bash: module: command not found\n", "this host", "module load python")
    assert problem.startswith("worker_init: on this host it did not run to the end")
    assert "module: command not found" in problem
