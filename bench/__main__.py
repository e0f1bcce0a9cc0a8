"""Run the benches and check their figures against the targets.

``python -m bench`` (from the repository root) runs every bench; ``python -m bench store
import`` only those; ``--quick`` lowers repeat counts and sizes; ``--check`` exits 1 when a
target is MISSED (and 2 when a bench failed to run); ``--list`` shows the benches and the
target table. ``--target KEY<=N`` (also ``>=``, ``==``) replaces one target for this run,
e.g. to see the MISSED path: ``python -m bench import --target 'P6.import.ratio<=0.001'``.

Each figure prints beside its target as it is taken, with MET or MISSED (``measured`` when
it has no target, ``SKIPPED`` with the reason when it could not be taken); a summary table
of all figures and the wall time close the run.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass

from bench._common import Figure, fmt, machine, use_this_checkout

# name on the command line -> module under bench/, in the order a full run takes them
BENCHES: dict[str, str] = {
    "import": "bench.imports",
    "catalogue": "bench.catalogue",
    "store": "bench.store",
    "sweep": "bench.sweep",
    "monitor": "bench.monitor",
    "latency": "bench.latency",
    "table": "bench.table",
    "viewer": "bench.viewer",
    "frames": "bench.frames",
    "parsl": "bench.parsl_overhead",
    "dask": "bench.dask_overhead",
    "covalent": "bench.covalent_overhead",  # with .venv-covalent's Python; SKIPPED elsewhere
}


@dataclass(frozen=True)
class Target:
    """``value <op> limit``; ``unit`` only for printing."""

    op: str
    limit: float
    unit: str = ""

    def met(self, value: float) -> bool:
        if self.op == "<=":
            return value <= self.limit
        if self.op == ">=":
            return value >= self.limit
        if self.op == "==":
            return value == self.limit
        raise ValueError(f"unknown comparison {self.op!r}")

    def text(self) -> str:
        return f"{self.op} {fmt(self.limit)}{' ' + self.unit if self.unit else ''}"


# The targets of bench/README.md, by figure key. Ratios are against a baseline measured in
# the same run (P1: raw Parsl apps; P6: import ase, ipywidgets). Figures whose key is not
# here print as "measured".
TARGETS: dict[str, Target] = {
    # P1: JobManager vs the same recipe as raw Parsl python_apps, median of paired rounds
    "P1.threads.static.ratio": Target("<=", 1.10, "x raw"),
    "P1.local.static.ratio": Target("<=", 1.10, "x raw"),
    "P1.memory.growth": Target("<=", 1.0, "MiB per 1,000 jobs"),  # "flat"
    "P1.memory.held": Target("==", 0, "jobs + tasks"),
    # P1b: JobManager vs the same recipe as raw Dask futures on the same kind of cluster
    "P1b.local.static.ratio": Target("<=", 1.10, "x raw"),
    "P1b.local.table": Target("<=", 1000, "ms"),
    # P1b: JobManager vs raw Covalent dispatches on one server; completion -> table within 1 s
    "P1b.covalent.static.ratio": Target("<=", 1.10, "x raw"),
    "P1b.covalent.table.p95": Target("<=", 1000, "ms"),
    # P2: monitor tick, 10,000 tracked jobs, 1 % changing
    "P2.tick.cpu_median": Target("<=", 5.0, "ms"),
    "P2.bytes.spread": Target("<=", 1.5, "x"),  # bytes per changed row, 10 vs 100 vs 1,000 rows
    # P3: job process exit -> subscriber (core) and -> JobTable row message (widgets)
    "P3-core.script.median": Target("<=", 50, "ms"),
    "P3-core.script.p99": Target("<=", 50, "ms"),
    "P3-core.loop.median": Target("<=", 50, "ms"),
    "P3-core.loop.p99": Target("<=", 50, "ms"),
    "P3.table.median": Target("<=", 100, "ms"),
    "P3.table.p99": Target("<=", 100, "ms"),
    # P4: JobTable with 10,000 rows in headless Chromium
    "P4.table.first_render": Target("<=", 300, "ms"),
    "P4.table.update": Target("<=", 50, "ms"),
    # P4: selecting, measuring, clearing at 10,192 atoms in the viewer, the page's work (max)
    **{f"P4.viewer.{key}.selection_work": Target("<=", 100, "ms") for key in ("supercell", "spacefill", "python")},
    # P4: dragging 10,192 atoms, frames per second against the 4-atom baseline's
    **{f"P4.viewer.{key}.drag_ratio": Target(">=", 0.2, "x") for key in ("supercell", "spacefill", "python")},
    # P4: a trajectory step of 10,192 atoms in the viewer, the browser's work (median)
    "P4.frames.step": Target("<=", 100, "ms"),
    "P4.frames.step_forces": Target("<=", 100, "ms"),
    # P5: job store
    "P5.insert.one": Target(">=", 5000, "jobs/s"),
    "P5.reload": Target("<=", 1.0, "s"),
    "P5.manager_open": Target("<=", 0.5, "s"),
    "P5.kernel_rss": Target("<=", 300, "MB"),
    "P5.sweep.recorded": Target("<=", 5.0, "s"),  # at 10,000 structures (--quick: 2,000)
    # P6: import time and the recipe catalogue
    "P6.import.ratio": Target("<=", 1.3, "x baseline"),
    "P6.import.heavy": Target("==", 0, "modules"),
    "P6.catalogue.build": Target("<=", 1000, "ms"),
    "P6.catalogue.recipe_modules": Target("==", 0, "modules"),
}

MET, MISSED, MEASURED, SKIPPED = "MET", "MISSED", "measured", "SKIPPED"


def verdict(figure: Figure, target: Target | None) -> str:
    """MET / MISSED against ``target``; ``measured`` without one; ``SKIPPED`` when not taken."""
    if figure.skipped is not None or figure.value is None:
        return SKIPPED
    if target is None:
        return MEASURED
    return MET if target.met(figure.value) else MISSED


def figure_line(figure: Figure, target: Target | None) -> str:
    """One figure beside its target and verdict, as printed during a run and in the summary."""
    mark = verdict(figure, target)
    tail = f"  ({figure.skipped})" if mark == SKIPPED else ""
    target_text = f"target {target.text()}" if target is not None else "no target"
    ident = figure.key.split(".")[0]
    return f"{ident:<8} {figure.what:<58} {figure.text():>28}   {target_text:<30} {mark}{tail}"


def parse_target(text: str) -> tuple[str, Target]:
    """``KEY<=N``, ``KEY>=N`` or ``KEY==N`` -> (key, Target), for ``--target``."""
    match = re.fullmatch(r"\s*([\w.\-]+)\s*(<=|>=|==)\s*([-+0-9.eE]+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected KEY<=N, KEY>=N or KEY==N, not {text!r}")
    key, op, limit = match.groups()
    unit = TARGETS[key].unit if key in TARGETS else ""
    return key, Target(op, float(limit), unit)


def exit_code(verdicts: Iterable[str], errors: int, check: bool) -> int:
    """2 when a bench failed to run; with ``check``, 1 when a target was MISSED; else 0."""
    if errors:
        return 2
    if check and MISSED in verdicts:
        return 1
    return 0


def run_bench(name: str, quick: bool, targets: dict[str, Target]) -> tuple[list[tuple[Figure, str]], str | None]:
    """Run one bench, printing each figure as it comes; its figures with verdicts, and the
    error text if it raised."""
    module = importlib.import_module(BENCHES[name])
    results: list[tuple[Figure, str]] = []
    try:
        for figure in module.run(quick=quick):
            target = targets.get(figure.key)
            print(figure_line(figure, target), flush=True)
            results.append((figure, verdict(figure, target)))
    except Exception:  # noqa: BLE001 - reported, counted, and the other benches still run
        error = traceback.format_exc()
        print(f"ERROR in bench {name}:\n{error}", flush=True)
        return results, error
    return results, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benches to run: {', '.join(BENCHES)} (default all)")
    parser.add_argument("--check", action="store_true", help="exit 1 when any target is MISSED")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller sizes")
    parser.add_argument("--list", action="store_true", help="list the benches and the targets, run nothing")
    parser.add_argument("--target", action="append", type=parse_target, default=[], metavar="KEY<=N",
                        help="replace the target of one figure for this run (repeatable)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHES]
    if unknown:
        parser.error(f"unknown bench {', '.join(unknown)}; benches are: {', '.join(BENCHES)}")
    if args.list:
        print("benches:", ", ".join(BENCHES))
        for key, target in TARGETS.items():
            print(f"  {key:<32} {target.text()}")
        return 0
    targets = {**TARGETS, **dict(args.target)}
    names = [n for n in BENCHES if n in args.names] if args.names else list(BENCHES)

    use_this_checkout()
    logging.getLogger("quacc").setLevel(logging.WARNING)  # a line per EMT job otherwise
    logging.getLogger("parsl").propagate = False
    print(f"machine: {machine()}")
    print(f"benches: {' '.join(names)}{' (quick)' if args.quick else ''}", flush=True)
    started = time.perf_counter()
    everything: list[tuple[Figure, str]] = []
    errors: list[str] = []
    took: dict[str, float] = {}
    for name in names:
        print(f"\n== {name} ==", flush=True)
        t0 = time.perf_counter()
        results, error = run_bench(name, args.quick, targets)
        took[name] = time.perf_counter() - t0
        print(f"-- {name}: {took[name]:.1f} s", flush=True)
        everything.extend(results)
        if error is not None:
            errors.append(name)
    wall = time.perf_counter() - started

    print("\n== summary ==")
    for figure, _mark in everything:
        print(figure_line(figure, targets.get(figure.key)))
    counts = {m: sum(1 for _, v in everything if v == m) for m in (MET, MISSED, MEASURED, SKIPPED)}
    print(", ".join(f"{n} {m}" for m, n in counts.items())
          + (f"; FAILED to run: {', '.join(errors)}" if errors else ""))
    print("time per bench: " + ", ".join(f"{n} {s:.0f} s" for n, s in took.items()))
    print(f"wall time: {wall:.1f} s")
    return exit_code([v for _, v in everything], len(errors), args.check)


if __name__ == "__main__":
    sys.exit(main())
