"""Trivial job functions for the benchmarks."""


def noop_job(atoms):
    """Returns the number of atoms."""
    return len(atoms)
