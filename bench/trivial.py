"""Job functions for the benches, importable by job processes and HTEX workers as ``bench.trivial``
(the runner puts this checkout first on PYTHONPATH)."""


def noop_job(atoms):
    """Returns the number of atoms."""
    return len(atoms)


def emt(atoms, results_dir, recipe="static_job", **kwargs):
    """A quacc EMT recipe (``static_job`` or ``relax_job``) as a user would call it from a
    raw Parsl app.

    quacc's settings are per thread, so RESULTS_DIR must be set inside the task.
    """
    from quacc import change_settings
    from quacc.recipes.emt import core

    with change_settings({"RESULTS_DIR": results_dir}):
        return getattr(core, recipe)(atoms, **kwargs)
