"""P6 import: ``import crystalwidgets`` against ``import ase, ipywidgets``, same run.

Each import runs in a fresh interpreter, 7 times; medians are compared.
Target: ratio <= 1.3. Also shows ``from crystalwidgets import JobManager`` and
checks that no engine and no quacc recipe module was imported.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

from _common import machine

REPEATS = 7
PROBE = """
import sys, time, json
t = time.perf_counter()
{stmt}
dt = time.perf_counter() - t
bad = sorted(m for m in sys.modules if m.split('.')[0] in ('parsl', 'dask', 'covalent')
             or m.startswith('quacc.recipes.'))
print(json.dumps({{"s": dt, "bad": bad}}))
"""


def timed(stmt: str) -> tuple[float, list[str]]:
    runs, bad = [], []
    for _ in range(REPEATS):
        out = subprocess.run([sys.executable, "-c", PROBE.format(stmt=stmt)], capture_output=True,
                             text=True, check=True)
        data = json.loads(out.stdout.strip().splitlines()[-1])
        runs.append(data["s"])
        bad = data["bad"]
    return statistics.median(runs), bad


def main() -> None:
    print(f"machine: {machine()}")
    base, _ = timed("import ase, ipywidgets")
    ours, bad = timed("import crystalwidgets")
    mgr, bad_mgr = timed("from crystalwidgets import JobManager")
    print(f"import ase, ipywidgets (baseline): {base * 1000:.0f} ms")
    print(f"import crystalwidgets: {ours * 1000:.0f} ms, ratio {ours / base:.2f}x (target <= 1.3x); "
          f"engines or recipe modules imported: {bad or 'none'}")
    print(f"from crystalwidgets import JobManager: {mgr * 1000:.0f} ms, ratio {mgr / base:.2f}x; "
          f"engines or recipe modules imported: {bad_mgr or 'none'}")


if __name__ == "__main__":
    main()
