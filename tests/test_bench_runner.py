"""The bench runner (``python -m bench``): verdicts, the --check exit code, and one real cheap
bench (``import --quick``, a few seconds) run through it, with its MISSED path forced by an
impossible target."""

from __future__ import annotations

import ast
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import (
    BENCHES,
    MEASURED,
    MET,
    MISSED,
    SKIPPED,
    Target,
    exit_code,
    figure_line,
    parse_target,
    verdict,
)
from bench._common import Figure, skipped

REPO = Path(__file__).resolve().parents[1]


def run_bench(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def lines_of(out: str, what: str) -> list[str]:
    """The printed lines of the figure described ``what`` (once as taken, once in the summary)."""
    return [line for line in out.splitlines() if what in line and "target" in line]


# -- verdicts and formatting on fixed inputs ----------------------------------------------


@pytest.mark.parametrize(
    ("target", "value", "expected"),
    [
        (Target("<=", 1.10), 1.10, MET),
        (Target("<=", 1.10), 1.11, MISSED),
        (Target(">=", 5000), 4999.0, MISSED),
        (Target(">=", 5000), 14093.0, MET),
        (Target("==", 0), 0, MET),
        (Target("==", 0), 2, MISSED),
        (None, 3.5, MEASURED),
    ],
)
def test_verdict(target, value, expected):
    assert verdict(Figure("P9.x", "a figure", value, "ms"), target) == expected


def test_skipped_figure_is_neither_met_nor_missed():
    figure = skipped("P1.slurm.cold", "submit -> running", "no sinfo on PATH")
    assert verdict(figure, Target("<=", 1.0)) == SKIPPED
    line = figure_line(figure, None)
    assert line.endswith("SKIPPED  (no sinfo on PATH)")


def test_figure_line_shows_figure_beside_target_and_verdict():
    line = figure_line(Figure("P5.reload", "reload of 105,000 records", 1.617, "s"), Target("<=", 1.0, "s"))
    assert re.search(r"^P5 .*reload of 105,000 records .* 1\.62 s +target <= 1 s +MISSED$", line), line
    line = figure_line(Figure("P6.import.ratio", "import / baseline", 0.05, "x", shown="0.05x (14 ms)"),
                       Target("<=", 1.3, "x baseline"))
    assert line.endswith("MET") and "0.05x (14 ms)" in line and "target <= 1.30 x baseline" in line
    assert figure_line(Figure("P5.insert.batch", "batch insert", 59651.0, "jobs/s"), None).endswith(
        "59,651 jobs/s   no target                      measured")


def test_exit_code():
    assert exit_code([MET, MEASURED, SKIPPED], errors=0, check=True) == 0
    assert exit_code([MET, MISSED], errors=0, check=True) == 1
    assert exit_code([MET, MISSED], errors=0, check=False) == 0  # without --check a miss is only printed
    assert exit_code([MET], errors=1, check=False) == 2
    assert exit_code([MISSED], errors=1, check=True) == 2


def test_parse_target():
    assert parse_target("P6.import.ratio<=0.001") == ("P6.import.ratio", Target("<=", 0.001, "x baseline"))
    assert parse_target("P3-core.loop.p99 >= 2") == ("P3-core.loop.p99", Target(">=", 2.0, "ms"))
    with pytest.raises(Exception, match="expected KEY"):
        parse_target("P6.import.ratio<0.5")


def test_every_bench_module_has_run_and_its_name():
    for name, module_name in BENCHES.items():
        module = importlib.import_module(module_name)
        assert module.NAME == name and callable(module.run)


def test_bench_imports_nothing_from_tests_and_private_names_only_in_common():
    for path in sorted((REPO / "bench").glob("*.py")):
        text = path.read_text()
        assert not re.search(r"""["'/]tests["'/]""", text.replace("bench/ imports nothing from tests/", "")), path
        for node in ast.walk(ast.parse(text)):
            modules = []
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            for module in modules:
                assert module.split(".")[0] != "tests", f"{path.name} imports {module}"
                if path.name != "_common.py" and module.startswith("crystalwidgets"):
                    assert not any(part.startswith("_") for part in module.split(".")[1:]), (
                        f"{path.name} imports the private {module}: reach it through bench/_common.py"
                    )


# -- one real bench through the runner ----------------------------------------------------


def test_import_bench_meets_its_targets_and_check_passes():
    done = run_bench("import", "--quick", "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    ratio = lines_of(done.stdout, "import crystalwidgets / baseline")
    assert len(ratio) == 2 and all(line.endswith(MET) for line in ratio), done.stdout
    assert lines_of(done.stdout, "engines/recipe modules after import crystalwidgets")[0].endswith(MET)
    assert "0 MISSED" in done.stdout and "wall time:" in done.stdout


def test_an_impossible_target_is_missed_and_fails_check():
    done = run_bench("import", "--quick", "--check", "--target", "P6.import.ratio<=0.0001")
    assert done.returncode == 1, done.stdout + done.stderr
    ratio = lines_of(done.stdout, "import crystalwidgets / baseline")
    assert ratio and all(line.endswith(MISSED) and "target <= 0.0001 x baseline" in line for line in ratio)
    assert lines_of(done.stdout, "engines/recipe modules after import crystalwidgets")[0].endswith(MET)
    assert "1 MISSED" in done.stdout


def test_unknown_bench_name_is_refused():
    done = run_bench("nosuchbench")
    assert done.returncode == 2 and "unknown bench nosuchbench" in done.stderr
