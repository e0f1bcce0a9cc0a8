"""Benchmarks of crystalwidgets: ``python -m bench`` from the repository root.

One module per bench, each with ``run(quick=False)`` yielding :class:`bench._common.Figure`
records; ``bench/__main__.py`` runs them, holds the target table and prints MET / MISSED.
See ``bench/README.md`` for the figures and how to run them. Nothing here imports from
``tests/``; crystalwidgets' private names are reached only through ``bench/_common.py``.
"""
