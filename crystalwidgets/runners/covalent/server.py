"""Talking to a Covalent server, every call bounded; and the local server crystalwidgets starts.

Covalent's own client (``ct.get_result``, ``ct.cancel``) sends its requests without a
timeout: a server that accepts a connection and never answers hangs it for ever. So the
status and cancel calls here are plain HTTP requests (the routes of Covalent 0.240's
dispatcher, ``/api/v2/dispatches``) with a timeout on every socket operation; only the
dispatch itself goes through Covalent's client (see :mod:`.dispatch`).

:class:`LocalServer` is a Covalent server of crystalwidgets' own on this machine, isolated
from the user's Covalent: its config, database, caches and logs live under
``<crystalwidgets home>/covalent-server/`` (``config/covalent.conf``,
``cache/covalent/covalent_ui.log``). ``covalent start`` waits without a limit for the
server to answer, so it runs in a process of its own that is given up on (and the
server stopped) after a bounded time.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from ..._files import private_dir, tail_text
from ...errors import CrystalWidgetsError

__all__ = ["ServerError", "LocalServer", "probe", "statuses", "cancel", "server_root"]

#: Covalent 0.240's dispatch routes.
_DISPATCHES = "/api/v2/dispatches"
#: Most dispatch ids asked about in one request.
_BATCH = 50  # ~2.5 kB of query string: far below any server's URL limit


class ServerError(CrystalWidgetsError):
    """The Covalent server could not be reached or did not answer in time (the text says which).

    ``unreachable`` is True when nothing answered at all (refused, timed out, reset), False
    when the server answered with an error.
    """

    def __init__(self, message: str, unreachable: bool = True) -> None:
        super().__init__(message)
        self.unreachable = unreachable


def _request(address: str, method: str, path: str, timeout: float, body: Any = None, params: Any = None) -> Any:
    """One HTTP request with ``timeout`` on connect and on every read; the JSON answer."""
    url = address.rstrip("/") + path
    if params:
        url += "?" + urllib.parse.urlencode(params, doseq=True)
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:500].decode("utf-8", "replace")
        raise ServerError(
            f"the Covalent server at {address} answered {method} {path} with HTTP {exc.code}: {detail}",
            unreachable=False,
        ) from None
    except (TimeoutError, socket.timeout):
        raise ServerError(
            f"the Covalent server at {address} accepted the connection but sent no answer within "
            f"{timeout:g} s (is it overloaded or hung? restart it with `covalent restart`)"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise ServerError(
                f"no Covalent server answered at {address} within {timeout:g} s (connect timed out)"
            ) from None
        raise ServerError(f"no Covalent server answers at {address} ({reason})") from None
    try:
        return json.loads(text) if text else None
    except ValueError:
        raise ServerError(
            f"{address} answered {method} {path} with something that is not JSON: is it a Covalent "
            "server?",
            unreachable=False,
        ) from None


def probe(address: str, timeout: float) -> str | None:
    """Why no working Covalent server answers at ``address`` within ``timeout``; None when one does."""
    try:
        answer = _request(address, "GET", _DISPATCHES, timeout, params={"count": 1, "status_only": "true"})
    except ServerError as exc:
        return str(exc)
    if not isinstance(answer, dict) or "dispatches" not in answer:
        return f"{address} answers, but not as a Covalent 0.240 dispatcher would (no dispatch list)"
    return None


def statuses(address: str, dispatch_ids: list[str], timeout: float) -> dict[str, str]:
    """Covalent's status of each dispatch (``"RUNNING"``, ...); ids it does not know are missing.

    Raises :class:`ServerError` when the server does not answer within ``timeout`` (per request).
    """
    found: dict[str, str] = {}
    for i in range(0, len(dispatch_ids), _BATCH):
        chunk = dispatch_ids[i : i + _BATCH]
        answer = _request(
            address,
            "GET",
            _DISPATCHES,
            timeout,
            params={"dispatch_id": chunk, "status_only": "true", "count": len(chunk)},
        )
        for row in (answer or {}).get("dispatches", []):
            found[str(row.get("dispatch_id"))] = str(row.get("status"))
    return found


def cancel(address: str, dispatch_id: str, timeout: float) -> None:
    """Mark the dispatch cancelled in Covalent (its running task is stopped by the job's worker)."""
    _request(address, "PUT", f"{_DISPATCHES}/{dispatch_id}/status", timeout, body={"status": "CANCELLED", "task_ids": []})


def server_root(home: Path) -> Path:
    """Where the local server of the crystalwidgets home ``home`` keeps its files."""
    return home / "covalent-server"


class LocalServer:
    """A Covalent server of crystalwidgets' own on this machine (see the module docstring).

    Parameters
    ----------
    root
        Its directory (:func:`server_root` of the crystalwidgets home).
    port
        The port asked for; Covalent takes the next free one when it is busy, and
        :meth:`address` reads back the one it took.
    cluster
        Start Covalent's Dask cluster too (needed by the ``dask`` executor).
    """

    def __init__(self, root: Path, port: int, *, cluster: bool = False) -> None:
        self.root = Path(root)
        self.port = port
        self.cluster = cluster

    @property
    def config_file(self) -> Path:
        """Covalent's config file of this server (``dispatcher.port`` is the port in use)."""
        return self.root / "config" / "covalent.conf"

    @property
    def log_file(self) -> Path:
        """The server's log."""
        return self.root / "cache" / "covalent" / "covalent_ui.log"

    @property
    def start_log(self) -> Path:
        """What ``covalent start`` and ``covalent stop`` printed."""
        return self.root / "start.log"

    @property
    def pid_file(self) -> Path:
        """Covalent's pid file of the server process."""
        return self.root / "cache" / "covalent" / "ui.pid"

    def env(self) -> dict[str, str]:
        """The environment of ``covalent start``/``stop``: this one, Covalent's dirs moved under :attr:`root`."""
        env = dict(os.environ)
        env.update(
            COVALENT_CONFIG_DIR=str(self.root / "config"),
            COVALENT_EXECUTOR_DIR=str(self.root / "config" / "executor_plugins"),
            XDG_CACHE_HOME=str(self.root / "cache"),
            XDG_DATA_HOME=str(self.root / "data"),
            COVALENT_DATA_DIR=str(self.root / "data" / "covalent" / "data"),
        )
        for var in ("COVALENT_LOGDIR", "COVALENT_CACHE_DIR", "COVALENT_DATABASE", "COVALENT_SVC_PORT"):
            env.pop(var, None)  # the user's Covalent settings must not move this server's files
        return env

    def address(self) -> str:
        """``http://localhost:PORT``, the port read back from the server's config when it has one."""
        port = self.port
        try:
            text = self.config_file.read_text()
        except OSError:
            text = ""
        section = None
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("["):
                section = line.strip("[]")
            elif section == "dispatcher" and line.replace(" ", "").startswith("port="):
                try:
                    port = int(line.split("=", 1)[1].strip().strip('"'))
                except ValueError:
                    pass
        return f"http://localhost:{port}"

    def pid(self) -> int | None:
        """The server's process id when it runs (from Covalent's pid file)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        import psutil

        return pid if pid > 0 and psutil.pid_exists(pid) else None

    def running(self, timeout: float = 2.0) -> bool:
        """Whether this server answers within ``timeout``."""
        return probe(self.address(), timeout) is None

    def _covalent(self, *args: str, timeout: float) -> subprocess.CompletedProcess | None:
        """Run the ``covalent`` command of this Python with :meth:`env`; None when it did not end in time."""
        cmd = [sys.executable, "-c", "from covalent_dispatcher._cli.cli import cli; cli()", *args]
        private_dir(self.root)
        fd = os.open(self.start_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as log:
            proc = subprocess.Popen(
                cmd, env=self.env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                cwd=self.root, start_new_session=True,
            )
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return None
        return subprocess.CompletedProcess(cmd, proc.returncode)

    def start(self, timeout: float = 90.0) -> str:
        """Start the server unless it answers already; return its address.

        Raises
        ------
        ServerError
            When it does not answer within ``timeout`` seconds (what it logged is in the
            message; a half-started server is stopped).
        """
        private_dir(self.root)  # first: its parents may be new, and only the last dir gets 0700
        for sub in ("config", "cache", "data"):
            private_dir(self.root / sub)
        if self.running():
            return self.address()
        t0 = time.monotonic()
        args = ["start", "-p", str(self.port), "--no-triggers"]
        if not self.cluster:
            args.append("--no-cluster")
        else:
            args += ["-n", "1"]
        done = self._covalent(*args, timeout=timeout)
        left = max(1.0, timeout - (time.monotonic() - t0))
        deadline = time.monotonic() + left
        while done is not None and done.returncode == 0 and time.monotonic() < deadline:
            if self.running(timeout=1.0):
                return self.address()
            time.sleep(0.2)
        why = "did not answer" if done is None or done.returncode == 0 else f"`covalent start` exited with {done.returncode}"
        self.stop(timeout=30)
        log = tail_text(self.log_file, 1500) or tail_text(self.start_log, 1500)
        raise ServerError(
            f"the local Covalent server (port {self.port}) {why} within {timeout:g} s; it was stopped. "
            f"Its log ({self.log_file}) ends with:\n{log}"
        )

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server and everything it started (its executors' processes too)."""
        import psutil

        pid = self.pid()
        procs = []
        if pid is not None:
            try:
                leader = psutil.Process(pid)
                procs = [leader, *leader.children(recursive=True)]
            except psutil.NoSuchProcess:
                procs = []
        self._covalent("stop", timeout=timeout)
        for p in procs:  # whatever `covalent stop` left (it may leave job processes of executors)
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(procs, timeout=5)
