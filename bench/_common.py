"""What the benches share: the figure record, small statistics, the machine line, and every
reach into crystalwidgets' private modules and attributes.

Private names are imported here and nowhere else in ``bench/``: when a module moves, fix
the one line in ``_PRIVATE`` (or the one helper below it). Everything else in ``bench/``
uses the public API (``from crystalwidgets import JobManager, JobRecord, JobState``,
``crystalwidgets.widgets``, ``crystalwidgets.jobs.JobEvent``) or these names, e.g.
``from bench._common import JobStore`` (resolved lazily, on first use).
"""

from __future__ import annotations

import importlib
import math
import os
import platform
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(__file__).resolve().parent


def use_this_checkout() -> None:
    """Put this checkout first on ``PYTHONPATH`` so every child (fresh interpreters, job
    processes, HTEX workers, Jupyter kernels) imports this ``crystalwidgets`` and ``bench``,
    not an editable install elsewhere."""
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if not parts or Path(parts[0]).resolve() != REPO:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), *parts])


# -- crystalwidgets' private names, all in one place --------------------------------------

_PRIVATE: dict[str, tuple[str, str | None]] = {
    # name here: (module, attribute; None = the module itself)
    "JobStore": ("crystalwidgets.jobs.store", "JobStore"),
    "owner_id": ("crystalwidgets._procs", "owner_id"),
    "task": ("crystalwidgets.jobs.task", None),  # the job body: encode_input, write_input, run
    "ProfileStore": ("crystalwidgets.profiles", "ProfileStore"),
    "ParslThreadsProfile": ("crystalwidgets.runners.parsl.profiles", "ParslThreadsProfile"),
    "ParslLocalProfile": ("crystalwidgets.runners.parsl.profiles", "ParslLocalProfile"),
    "ParslSlurmProfile": ("crystalwidgets.runners.parsl.profiles", "ParslSlurmProfile"),
    "TABLE_COLUMNS": ("crystalwidgets.widgets._table", "COLUMNS"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attr = _PRIVATE[name]
    except KeyError:
        raise AttributeError(f"module 'bench._common' has no attribute {name!r}") from None
    value = importlib.import_module(module)
    return value if attr is None else getattr(value, attr)


# private attributes of public objects, each behind one helper


def post_events(mgr: Any, events: list[Any]) -> None:
    """Queue runner events on the manager as one poll's reports (drained together)."""
    with mgr._lock:
        for event in events:
            mgr._post(event)


def drain(mgr: Any) -> None:
    """Apply the manager's queued events now, on this thread."""
    mgr._drain()


def ask_snapshot(table: Any) -> None:
    """Act as a view asking a JobTable for its rows."""
    table._handle_custom_msg({"kind": "snapshot"}, [])


def tap_messages(widget: Any, publish: Any) -> None:
    """Route what ``widget`` sends to the frontend to ``publish(msg_type, data=..., ...)``."""
    widget.comm.publish_msg = publish


def table_rows(table: Any) -> list[list[Any]]:
    """All rows of a JobTable as it would send them."""
    return table._rows()


def runner_holds(mgr: Any, profile: str) -> tuple[int, int]:
    """Jobs the profile's Parsl runner still tracks, and tasks its DataFlowKernel holds."""
    runner = mgr.runner(profile)
    return len(runner._jobs), len(runner._engine.dfk.tasks)


def save_profile(profile: Any) -> None:
    """Save a profile in the current ``CRYSTALWIDGETS_CONFIG``."""
    __getattr__("ProfileStore")().save(profile)


# -- figures ------------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured figure (or a skipped one).

    ``key`` names it in the runner's target table (``TARGETS`` in ``bench/__main__.py``);
    ``value`` is what the target is checked against (``None`` when skipped); ``shown`` the
    text printed as the figure (defaults to ``value`` with ``unit``); ``skipped`` the reason
    it was not measured.
    """

    key: str
    what: str
    value: float | None
    unit: str = ""
    shown: str | None = None
    skipped: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        if self.skipped is not None:
            return "-"
        if self.shown is not None:
            return self.shown
        return f"{fmt(self.value)}{' ' + self.unit if self.unit else ''}"


def skipped(key: str, what: str, reason: str) -> Figure:
    return Figure(key, what, None, skipped=reason)


def fmt(value: float | None) -> str:
    """A number as the tables show it: 3 significant figures, thousands separated."""
    if value is None:
        return "-"
    if math.isnan(value):
        return "nan"
    if float(value).is_integer() and abs(value) >= 1:
        return f"{value:,.0f}"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


# -- statistics and the machine -----------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation."""
    values = sorted(values)
    if len(values) == 1:
        return values[0]
    if q >= 100:
        return values[-1]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def machine() -> str:
    """One line naming the machine the figures were taken on."""
    import psutil

    mem = psutil.virtual_memory().total / 2**30
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.node()}: {psutil.cpu_count()} cores, {mem:.0f} GiB, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
        f"load average {load}"
    )
