"""Jobs: the manager (:mod:`.manager`, the façade scripts and widgets use), its event pump
(:mod:`.events`), the SQLite store (:mod:`.store`), the job body (:mod:`.task`) and the
summaries it writes (:mod:`.summary`).

Names load on first use: a job process (``python -m crystalwidgets.jobs.task``) imports
the job body only, not the manager.
"""

from __future__ import annotations

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "actions": ["BulkReport", "JobTemplate"],
        "events": ["JobEvent", "Task"],
        "manager": ["Changes", "JobManager"],
        "store": ["JobRecord", "JobStore"],
        "sweep": ["sweep_jobs"],
        "workdir": ["JobFiles"],
    },
)
