"""The job body, the same for every runner, and the files it leaves in its work dir.

A job's work dir is self-contained::

    cw-input.pkl      recipe (dotted path or pickled callable), structure, kwargs
    cw-started.json   written when the body starts: pid, host, time
    cw-outcome.json   written last, atomically: state, times, summary or error text
    cw-result.json    the recipe's full result (jsanitized), when it completed
    cw-final.json     its final structure alone, for the widgets (see jobs.final)
    cw-frames.npz     its trajectory's positions, energies, forces per step (see jobs.frames)
    quacc-*/          quacc's own files (RESULTS_DIR is the work dir)

Every file is written atomically (temporary file, then rename), so a job or
kernel that dies mid-write never leaves half a file. Result and outcome are
also flushed to disk (fsync) when the job ran for :data:`DURABLE_AFTER_S` or
more: then a power cut of the node cannot lose the work either. For shorter
jobs the fsync would cost more than the job; they are as durable as the job
store itself (SQLite WAL with ``synchronous=NORMAL``): safe against any
process or kernel crash, not against a power cut in the following seconds.

Runners start the body (``python -m crystalwidgets.jobs.task WORK_DIR`` in a process,
or :func:`run` inside an engine's task) and read :func:`read_outcome` when it ends.
A kernel that was away reads the same files, so nothing finished is lost.
"""

from __future__ import annotations

import functools
import json
import os
import pickle
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from .._files import jsanitized, private_tree, read_json, tail_text, write_json
from .final import write_final
from .frames import write_frames

__all__ = [
    "encode_input",
    "write_input",
    "run",
    "read_outcome",
    "read_started",
    "INPUT",
    "OUTCOME",
    "RESULT",
]

INPUT = "cw-input.pkl"
STARTED = "cw-started.json"
OUTCOME = "cw-outcome.json"
RESULT = "cw-result.json"
STDOUT = "cw-stdout.txt"
STDERR = "cw-stderr.txt"
_ERROR_MAX = 20_000
#: Jobs that ran at least this long (seconds) have their result and outcome fsync'ed.
DURABLE_AFTER_S = 1.0


def encode_input(recipe: str | Any, atoms: Any, kwargs: dict[str, Any]) -> bytes:
    """What the job body needs, as the bytes :func:`write_input` stores.

    ``recipe`` is a dotted path (imported by the body) or a callable (pickled by
    value with cloudpickle when it cannot be imported, e.g. defined in a notebook).
    """
    payload = {"recipe": recipe, "atoms": atoms, "kwargs": kwargs}
    if isinstance(recipe, str) and _plain_atoms(atoms):  # nothing to carry by value:
        return pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)  # 5x faster than cloudpickle
    import cloudpickle

    module = sys.modules.get(getattr(recipe, "__module__", "") or "")
    by_value = module is not None and module.__name__ != "__main__" and not _installed(module)
    if by_value:  # e.g. a helper module next to the notebook: the job process cannot import it
        cloudpickle.register_pickle_by_value(module)
    try:
        return cloudpickle.dumps(payload)
    finally:
        if by_value:
            cloudpickle.unregister_pickle_by_value(module)


_PLAIN_MODULES = ("builtins", "numpy")


def _plain_atoms(atoms: Any) -> bool:
    """Whether ``atoms`` holds only what plain pickle carries by reference safely: no
    calculator, constraints from ASE, ``info`` values of builtin and numpy types (kwargs
    are JSON already). Anything else (a notebook's class, say) goes by value."""
    try:
        if atoms.calc is not None:
            return False
        if any(not type(c).__module__.startswith("ase.") for c in atoms.constraints):
            return False
        return all(_plain(value) for value in atoms.info.values())
    except AttributeError:
        return False


def _plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_plain(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return type(value).__module__.split(".")[0] in _PLAIN_MODULES


def write_input(work_dir: Path, payload: bytes) -> None:
    """Write a job's input (:func:`encode_input`) into ``work_dir``, created private.

    The bytes are encoded apart so a sweep encodes a structure once for many jobs.
    """
    work_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(work_dir / INPUT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(payload)


@functools.lru_cache(maxsize=1)
def _install_roots() -> tuple[str, ...]:
    import sysconfig

    paths = sysconfig.get_paths()
    return tuple({os.path.realpath(paths[k]) + os.sep for k in ("purelib", "platlib", "stdlib", "platstdlib")})


@functools.lru_cache(maxsize=256)
def _installed_file(path: str) -> bool:
    return os.path.realpath(path).startswith(_install_roots())


def _installed(module: Any) -> bool:
    """True for modules of installed packages or the standard library."""
    path = getattr(module, "__file__", None)
    return path is None or _installed_file(path)  # no file: built in


def _load_recipe(recipe: str | Any) -> Any:
    if not isinstance(recipe, str):
        return recipe
    from importlib import import_module

    module, _, name = recipe.rpartition(".")
    return getattr(import_module(module), name)


def run(work_dir: str | os.PathLike, *, own_process: bool = True) -> dict[str, Any]:
    """Run the job in ``work_dir``; write its outcome there. Returns the outcome.

    The outcome is what :func:`read_outcome` reads back: ``state`` (``completed``
    or ``failed``), ``started``, ``finished``, and ``summary`` or ``error``.
    Never raises for the recipe's own errors: they become a ``failed`` outcome
    with the traceback text.

    ``own_process``: the body owns its process (a job process): it records
    ``cw-started.json`` (pid, host, time) and sets the process's umask to 077, so
    everything the job writes is private to the user. False for a body run in the
    kernel's own process (``parsl-threads``): its runner already knows, the
    kernel's umask stays the user's, and what the recipe wrote with it is made
    private (0700/0600) when it returns; what the thread prints goes to
    ``cw-stdout.txt``/``cw-stderr.txt`` (see :mod:`crystalwidgets.jobs.threadout`).
    """
    work_dir = Path(work_dir)
    started = time.time()
    if own_process:
        os.umask(0o077)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": started}
        write_json(work_dir / STARTED, info)
    outcome: dict[str, Any] = {"started": started}
    if not own_process:  # in a kernel thread: what this thread prints goes to the work dir
        from .threadout import captured

        with captured(work_dir, STDOUT, STDERR):
            durable = _run_recipe(work_dir, started, outcome)
    else:
        durable = _run_recipe(work_dir, started, outcome)
    if not own_process:  # quacc wrote its dirs with the kernel's umask: make them private too
        private_tree(work_dir)
    outcome["finished"] = time.time()
    if outcome.get("summary") is not None:
        outcome["summary"]["wall_time_s"] = outcome["finished"] - started
    return json.loads(write_json(work_dir / OUTCOME, outcome, durable=durable))


def _run_recipe(work_dir: Path, started: float, outcome: dict[str, Any]) -> bool:
    """Run the recipe of the job in ``work_dir``; fill ``outcome``. Whether it is durable."""
    try:
        with open(work_dir / INPUT, "rb") as fh:
            job = pickle.load(fh)
        recipe = _load_recipe(job["recipe"])
        from quacc import change_settings

        # quacc settings are per thread: set them here, in the thread that runs the recipe
        with change_settings({"RESULTS_DIR": work_dir}):
            result = recipe(job["atoms"], **job["kwargs"])
        durable = time.time() - started >= DURABLE_AFTER_S  # the same for result and outcome
        from .summary import summarise

        summary = summarise(result)
        # not atomic: the result counts only once the outcome, written after it, says so
        result_json = {"result": jsanitized(result, as_dict_first=True)}
        write_json(work_dir / RESULT, result_json, durable=durable, atomic=False)
        write_final(work_dir, result_json["result"], durable=durable, sanitized=True)  # what the widgets show
        write_frames(work_dir, result, durable=durable)
        outcome.update(state="completed", summary=summary)
    except Exception:
        durable = time.time() - started >= DURABLE_AFTER_S
        text = traceback.format_exc()
        if len(text) > _ERROR_MAX:
            text = "…" + text[-_ERROR_MAX:]
        outcome.update(state="failed", error=text)
        _keep_what_it_made(work_dir, started, outcome, durable)
    return durable


def _keep_what_it_made(work_dir: Path, started: float, outcome: dict[str, Any], durable: bool) -> None:
    """A failed relaxation's recorded steps become its result and summary (marked not
    converged), so its energies, forces and last structure are shown and can be continued."""
    try:
        from .salvage import salvage
        from .summary import summarise

        partial = salvage(work_dir, since=started)
        if partial is None:
            return
        summary = summarise(partial)
        summary["unconverged"] = True
        partial_json = jsanitized(partial, as_dict_first=True)
        write_json(work_dir / RESULT, {"result": partial_json}, durable=durable, atomic=False)
        write_final(work_dir, partial_json, durable=durable)
        write_frames(work_dir, partial, durable=durable)
        outcome["summary"] = summary
    except Exception:  # noqa: BLE001  (the failure itself is what counts)
        pass


def read_outcome(work_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The outcome the job wrote (state, started, finished, summary or error), or None."""
    return read_json(Path(work_dir) / OUTCOME)


def read_started(work_dir: str | os.PathLike) -> dict[str, Any] | None:
    """What the job wrote when its body started (pid, host, time), or None."""
    return read_json(Path(work_dir) / STARTED)


def stderr_tail(work_dir: str | os.PathLike, n_chars: int = 2000) -> str:
    """The end of the job's stderr file ('' when there is none)."""
    return tail_text(Path(work_dir) / STDERR, n_chars)


def resubmit_hint(job_id: str) -> str:
    """The fix said for a job that cannot go on: ``resubmit it with mgr.resubmit('1a2b3c4d')``."""
    return f"resubmit it with mgr.resubmit({job_id[:8]!r})"


def with_stderr(text: str, tail: str, whose: str = "its") -> str:
    """``text`` with ``tail`` (the end of a stderr) appended, saying whose; as is when empty."""
    return f"{text}; the end of {whose} stderr:\n{tail}" if tail.strip() else text


def with_job_stderr(text: str, work_dir: str | os.PathLike | None) -> str:
    """``text`` with the end of the job's stderr appended, when it wrote any."""
    return with_stderr(text, stderr_tail(work_dir) if work_dir else "")


def main(argv: list[str] | None = None) -> int:
    """Entry point of a job process: ``python -m crystalwidgets.jobs.task WORK_DIR``."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m crystalwidgets.jobs.task WORK_DIR", file=sys.stderr)
        return 2
    code = 0 if run(argv[0])["state"] == "completed" else 1
    sys.stdout.flush()
    sys.stderr.flush()
    # the outcome is on disk: skip interpreter teardown so the watcher hears of the end at once
    os._exit(code)


if __name__ == "__main__":
    main()
