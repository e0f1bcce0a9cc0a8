"""Job functions for the benchmarks (importable by HTEX workers through PYTHONPATH)."""


def noop_job(atoms):
    """Returns the number of atoms."""
    return len(atoms)


def emt_static(atoms, results_dir):
    """quacc's EMT static job as a user would call it from a raw Parsl app.

    quacc's settings are per thread, so RESULTS_DIR must be set inside the task.
    """
    from quacc import change_settings
    from quacc.recipes.emt.core import static_job

    with change_settings({"RESULTS_DIR": results_dir}):
        return static_job(atoms)
