"""P6 import: ``import crystalwidgets`` against ``import ase, ipywidgets``, same run.

Each statement runs in a fresh interpreter, REPEATS times (interleaved, so drift on the
machine hits both alike); medians are compared. Target: ratio <= 1.3, and no engine
(parsl, dask, covalent) nor quacc recipe module imported. Also shows
``from crystalwidgets import JobManager``.

Alone: ``python -m bench.imports [--quick]``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections.abc import Iterator

from bench._common import REPO, Figure

NAME = "import"
REPEATS, REPEATS_QUICK = 7, 3
PROBE = """
import sys, time, json
t = time.perf_counter()
{stmt}
dt = time.perf_counter() - t
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('parsl', 'dask', 'covalent')
               or m.startswith('quacc.recipes.'))
print(json.dumps({{"s": dt, "heavy": heavy}}))
"""
STATEMENTS = {
    "base": "import ase, ipywidgets",
    "ours": "import crystalwidgets",
    "manager": "from crystalwidgets import JobManager",
}


def probe(stmt: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE.format(stmt=stmt)], capture_output=True,
                         text=True, check=True, cwd=REPO, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> Iterator[Figure]:
    repeats = REPEATS_QUICK if quick else REPEATS
    times: dict[str, list[float]] = {k: [] for k in STATEMENTS}
    heavy: dict[str, set[str]] = {k: set() for k in STATEMENTS}
    for _ in range(repeats):
        for key, stmt in STATEMENTS.items():
            data = probe(stmt)
            times[key].append(data["s"])
            heavy[key].update(data["heavy"])
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    print(f"median of {repeats} fresh interpreters: " + ", ".join(
        f"{STATEMENTS[k]} {med[k]:.0f} ms" for k in STATEMENTS))
    yield Figure("P6.import.base", "import ase, ipywidgets (baseline)", med["base"], "ms")
    yield Figure("P6.import.ratio", "import crystalwidgets / baseline", med["ours"] / med["base"], "x",
                 shown=f"{med['ours'] / med['base']:.2f}x ({med['ours']:.0f} ms)")
    yield Figure("P6.import.heavy", "engines/recipe modules after import crystalwidgets",
                 len(heavy["ours"]), shown=", ".join(sorted(heavy["ours"])) or "0 (none)")
    yield Figure("P6.manager.ratio", "from crystalwidgets import JobManager / baseline",
                 med["manager"] / med["base"], "x",
                 shown=f"{med['manager'] / med['base']:.2f}x ({med['manager']:.0f} ms)")
    yield Figure("P6.manager.heavy", "engines/recipe modules after that import",
                 len(heavy["manager"]), shown=", ".join(sorted(heavy["manager"])) or "0 (none)")


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main([NAME, *sys.argv[1:]]))
