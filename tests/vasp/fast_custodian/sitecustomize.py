"""Tests only: custodian polls a running VASP every 0.05 s instead of every 10 s.

Put on ``PYTHONPATH`` of the job processes by ``tests/vasp``: quacc 1.8 builds custodian's
``Custodian`` itself and passes no polling settings, so its defaults are changed where it is
imported, and nothing else (handlers, validators, corrections) is touched.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys

POLLING_TIME_STEP = 0.05
MONITOR_FREQ = 10


def _speed_up(module) -> None:
    init = module.Custodian.__init__
    names = init.__code__.co_varnames[: init.__code__.co_argcount]
    defaults = list(init.__defaults__)
    first = len(names) - len(defaults)
    for name, value in (("polling_time_step", POLLING_TIME_STEP), ("monitor_freq", MONITOR_FREQ)):
        defaults[names.index(name) - first] = value
    init.__defaults__ = tuple(defaults)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "custodian.custodian":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        run = loader.exec_module

        def exec_module(module):
            run(module)
            _speed_up(module)

        loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _Finder())
