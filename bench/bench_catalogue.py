"""P6 catalogue: the whole recipe catalogue, cold, against finding recipes by import, same run.

Each figure comes from fresh interpreters (REPEATS runs, medians): the catalogue
build (``len(recipes)`` after ``import crystalwidgets``), one ``resolve`` with its
form JSON, and every recipe's spec. The baseline is what a picker would do
without the catalogue: import every ``quacc.recipes`` module and collect its
decorated functions (one run; it takes seconds). Target: build <= 1 s with no
recipe module imported.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

from _common import machine

REPEATS = 5
TARGET_S = 1.0
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


def run(code: str, timeout: float = 120) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=timeout)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    print(f"machine: {machine()}")
    runs = [run(CATALOGUE) for _ in range(REPEATS)]
    median = {k: statistics.median(r[k] for r in runs) for k in ("import", "build", "resolve_form", "all_specs")}
    last = runs[-1]
    imported = sorted({m for r in runs for m in r["recipe_modules"]})
    try:
        base = run(BASELINE)
    except subprocess.TimeoutExpired:
        base = None
    print(f"catalogue build, cold (median of {REPEATS} fresh interpreters): {median['build'] * 1000:.0f} ms "
          f"(max {max(r['build'] for r in runs) * 1000:.0f} ms; target <= {TARGET_S * 1000:.0f} ms)")
    print(f"recipes listed: {last['n']} {last['kinds']}")
    print(f"recipe modules imported: {imported or 'none'}; quacc itself imported: {any(r['quacc'] for r in runs)}")
    print(f"import crystalwidgets: {median['import'] * 1000:.0f} ms; "
          f"resolve('emt.relax_job') + form JSON: {median['resolve_form'] * 1000:.0f} ms; "
          f"specs + form JSON of all {last['n']}: {median['all_specs'] * 1000:.0f} ms")
    if base is None:
        print("baseline, importing every recipe module: did not finish within 120 s")
    else:
        print(f"baseline, importing every recipe module: {base['s'] * 1000:.0f} ms for {base['n']} recipes "
              f"({base['failed']} modules fail to import); ratio baseline/catalogue {base['s'] / median['build']:.0f}x")
    ok = max(r["build"] for r in runs) <= TARGET_S and not imported
    print("target met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
