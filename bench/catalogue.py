"""P6 catalogue: the whole recipe catalogue, cold, against finding recipes by import, same run.

Each figure comes from fresh interpreters (REPEATS runs, medians): the catalogue
build (``len(recipes)`` after ``import crystalwidgets``), one ``resolve`` with its
form JSON, and every recipe's spec. The baseline is what a picker would do
without the catalogue: import every ``quacc.recipes`` module and collect its
decorated functions (one run; it takes seconds). Target: build <= 1 s with no
recipe module imported.

Alone: ``python -m bench.catalogue [--quick]``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections.abc import Iterator

from bench._common import REPO, Figure

NAME = "catalogue"
REPEATS, REPEATS_QUICK = 5, 3
CATALOGUE = """
import sys, time, json
t0 = time.perf_counter()
import crystalwidgets
t1 = time.perf_counter()
n = len(crystalwidgets.recipes)
t2 = time.perf_counter()
crystalwidgets.recipes.resolve("emt.relax_job").spec.to_json()
t3 = time.perf_counter()
for info in crystalwidgets.recipes:
    info.spec.to_json()
t4 = time.perf_counter()
kinds = [r.kind for r in crystalwidgets.recipes]
print(json.dumps({"import": t1 - t0, "build": t2 - t1, "resolve_form": t3 - t2, "all_specs": t4 - t3,
                  "n": n, "kinds": {k: kinds.count(k) for k in sorted(set(kinds))},
                  "recipe_modules": sorted(m for m in sys.modules if m.startswith("quacc.recipes")),
                  "quacc": "quacc" in sys.modules}))
"""
BASELINE = """
import importlib, inspect, json, pkgutil, time
t = time.perf_counter()
import quacc.recipes
n, failed = 0, 0
for mod in pkgutil.walk_packages(quacc.recipes.__path__, "quacc.recipes."):
    try:
        module = importlib.import_module(mod.name)
    except Exception:
        failed += 1
        continue
    for name, obj in vars(module).items():
        if (not name.startswith("_") and inspect.isfunction(obj) and obj.__module__ == mod.name
                and "node_type" in inspect.getclosurevars(obj).nonlocals):
            n += 1
print(json.dumps({"s": time.perf_counter() - t, "n": n, "failed": failed}))
"""


def run_code(code: str, timeout: float = 120) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=timeout, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> Iterator[Figure]:
    repeats = REPEATS_QUICK if quick else REPEATS
    runs = [run_code(CATALOGUE) for _ in range(repeats)]
    median = {k: statistics.median(r[k] for r in runs) * 1000 for k in ("import", "build", "resolve_form", "all_specs")}
    worst = max(r["build"] for r in runs) * 1000
    last = runs[-1]
    imported = sorted({m for r in runs for m in r["recipe_modules"]})
    print(f"recipes listed: {last['n']} {last['kinds']}; quacc itself imported: {any(r['quacc'] for r in runs)}; "
          f"import crystalwidgets {median['import']:.0f} ms")
    yield Figure("P6.catalogue.build", f"catalogue of all {last['n']} recipes built, cold (max of {repeats})",
                 worst, "ms", shown=f"{worst:.0f} ms (median {median['build']:.0f})")
    yield Figure("P6.catalogue.recipe_modules", "recipe modules imported by the catalogue", len(imported),
                 shown=", ".join(imported) or "0 (none)")
    yield Figure("P6.catalogue.resolve", "resolve('emt.relax_job') + form JSON", median["resolve_form"], "ms")
    yield Figure("P6.catalogue.all_specs", f"specs + form JSON of all {last['n']}", median["all_specs"], "ms")
    try:
        base = run_code(BASELINE)
    except subprocess.TimeoutExpired:
        yield Figure("P6.catalogue.baseline", "baseline: import every recipe module", None,
                     skipped="did not finish within 120 s")
        return
    yield Figure("P6.catalogue.baseline", "baseline: import every recipe module", base["s"] * 1000, "ms",
                 shown=f"{base['s'] * 1000:,.0f} ms ({base['s'] * 1000 / median['build']:.0f}x)")
    print(f"baseline found {base['n']} recipes; {base['failed']} modules fail to import")


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main([NAME, *sys.argv[1:]]))
