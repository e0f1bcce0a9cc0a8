"""The kernel's side of a Covalent dispatch: the one-electron lattice and bounded client calls.

Each job is dispatched as a lattice of one electron, :func:`.electron.run_job`, on the
profile's executor. Covalent's client (``ct.dispatch``, ``ct.get_result``) has no
request timeout, so each call runs in a thread of its own and is given up on after a
bounded time: the caller gets a :class:`~.server.ServerError` saying so, and the thread,
blocked on its socket, ends when the server answers or closes the connection (it holds
nothing of the caller's). Status and cancel go around the client (see :mod:`.server`).

Covalent is imported on the first dispatch only (importing it writes Covalent's own
config file, ``~/.config/covalent/covalent.conf`` unless ``COVALENT_CONFIG_DIR`` says
otherwise, as any use of Covalent does).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .electron import run_job
from .server import ServerError

__all__ = ["bounded", "dispatch", "failure_text"]

T = TypeVar("T")


def bounded(call: Callable[[], T], timeout: float, what: str, address: str) -> T:
    """``call()`` in a daemon thread; its result, or :class:`ServerError` after ``timeout`` s.

    An exception of ``call`` is raised here; a connection refused or reset says the server
    does not answer.
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=run, name=f"cw-covalent-{what}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise ServerError(
            f"the Covalent server at {address} did not answer {what} within {timeout:g} s "
            "(it accepts connections but sends nothing back: is it hung? restart it with "
            "`covalent restart`)"
        )
    if "error" in box:
        exc = box["error"]
        name = type(exc).__name__
        if name in ("ConnectionError", "ConnectTimeout", "ReadTimeout") or isinstance(exc, OSError):
            raise ServerError(f"no Covalent server answers at {address} ({name}: {exc})") from exc
        raise exc
    return box["value"]


@functools.lru_cache(maxsize=4)
def _lattice(executor: str) -> Any:
    import covalent as ct

    electron = ct.electron(run_job, executor=executor)

    def crystalwidgets_job(work_dir: str, job_id: str) -> Any:
        return electron(work_dir, job_id)

    return ct.lattice(crystalwidgets_job, executor=executor, workflow_executor=executor)


def dispatch(address: str, executor: str, work_dir: str, job_id: str, timeout: float) -> str:
    """Dispatch the job in ``work_dir`` to the server at ``address``; its dispatch id.

    Raises :class:`ServerError` when the server does not take it within ``timeout`` s.
    """
    import covalent as ct

    lattice = _lattice(executor)
    return bounded(
        lambda: ct.dispatch(lattice, dispatcher_addr=address)(work_dir, job_id),
        timeout,
        "the dispatch",
        address,
    )


def failure_text(address: str, dispatch_id: str, timeout: float, results_dir: str) -> str:
    """What Covalent says of a FAILED dispatch: its error and the electron's, bounded.

    ``results_dir``: where Covalent's client may download the dispatch's files.
    """
    import covalent as ct

    def read() -> str:
        res = ct.get_result(
            dispatch_id, wait=False, dispatcher_addr=address, results_dir=results_dir
        )
        parts = [str(res.error or "").strip()]
        try:
            node = res.lattice.transport_graph
            for key in ("error", "stderr"):
                text = node.get_node_value(0, key)
                if text:
                    parts.append(str(text).strip())
        except Exception:  # noqa: BLE001 - the dispatch's own error is enough
            pass
        return "\n".join(p for p in parts if p)

    try:
        return bounded(read, timeout, "the failed dispatch's error", address) or "(no error text)"
    except Exception as exc:  # noqa: BLE001 - the status alone is still worth telling
        return f"(its error text could not be read: {exc})"
