"""Jobs: the manager (:mod:`.manager`, the façade scripts and widgets use), its event pump
(:mod:`.events`), the SQLite store (:mod:`.store`), the job body (:mod:`.task`) and the
summaries it writes (:mod:`.summary`).

Names load on first use: a job process (``python -m crystalwidgets.jobs.task``) imports
the job body only, not the manager.
"""

from __future__ import annotations

from typing import Any

_NAMES = {
    "Changes": ".manager",
    "sweep_jobs": ".sweep",
    "JobManager": ".manager",
    "JobEvent": ".events",
    "Task": ".events",
    "JobRecord": ".store",
    "JobStore": ".store",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    try:
        module_name = _NAMES[name]
    except KeyError:
        raise AttributeError(f"module 'crystalwidgets.jobs' has no attribute {name!r}") from None
    from importlib import import_module

    value = getattr(import_module(module_name, __name__), name)
    globals()[name] = value
    return value
