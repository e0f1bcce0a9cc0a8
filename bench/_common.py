"""Small helpers shared by the bench scripts."""

from __future__ import annotations

import platform
import statistics

import psutil


def machine() -> str:
    """One line naming the machine the figures were taken on."""
    mem = psutil.virtual_memory().total / 2**30
    return (
        f"{platform.node()}: {psutil.cpu_count()} cores, {mem:.0f} GiB, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation."""
    values = sorted(values)
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if q < 100 else values[-1]
