"""The profile kind ``covalent``: jobs dispatched to a Covalent server, one lattice each.

The server is the one at ``server_address``, or, when that is empty, a local server of
crystalwidgets' own (isolated from the user's Covalent, files under
``<crystalwidgets home>/covalent-server/``), started on the first submit or with
:func:`start_local_server`. :meth:`CovalentProfile.check` says whether the server is
up, within ``call_timeout_s``.

The server's executor must see the crystalwidgets home (the same machine, or a shared
file system) and import crystalwidgets and quacc: the job's files are its work dir.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from ..._files import home_dir
from ...profiles.base import NAME_PATTERN, Profile
from .server import LocalServer, probe, server_root

__all__ = ["CovalentProfile", "start_local_server", "stop_local_server", "local_server"]

_ADDRESS = re.compile(r"^https?://[A-Za-z0-9_.-]+(:[0-9]{1,5})?/?$")
_NO_COVALENT = (
    "covalent is not installed in this kernel's environment: pip install 'crystalwidgets[covalent]' "
    "(Covalent needs SQLAlchemy<2: give it an environment of its own)"
)


class CovalentProfile(Profile):
    """Jobs dispatched to a Covalent server (a local one by default), each a one-electron lattice.

    Dispatches outlive the kernel: a new kernel reattaches to them. Cancel marks the
    dispatch cancelled in Covalent and kills the job's process group.
    """

    kind: Literal["covalent"] = "covalent"
    name: str = Field("covalent", pattern=NAME_PATTERN)
    server_address: str = Field(
        "",
        max_length=300,
        description=(
            "Address of your Covalent server, e.g. http://localhost:48008. Empty: a local server "
            "crystalwidgets starts on local_port (its config and logs under the crystalwidgets "
            "home, in covalent-server/)."
        ),
    )
    local_port: int = Field(
        48108,
        ge=1024,
        le=65535,
        description="Port of the local server (when server_address is empty); a busy port becomes the next free one.",
    )
    executor: Literal["local", "dask"] = Field(
        "local",
        description=(
            "Covalent executor of the jobs: local (a process pool of the server) or dask (the "
            "server's Dask cluster; the local server then starts one)."
        ),
    )
    call_timeout_s: float = Field(
        10.0,
        gt=0,
        le=300,
        description="Longest wait for any one answer of the server (a hung server fails the call after it).",
    )
    unreachable_after_s: float = Field(
        10.0,
        gt=0,
        le=3600,
        description=(
            "Seconds the server may stay unreachable before jobs that depend on it fail (a job "
            "whose process still runs here goes on, and its result is read from its work dir)."
        ),
    )
    start_timeout_s: float = Field(
        90.0, ge=5, le=900, description="Longest wait for the local server to start."
    )
    preflight_on_submit: bool = Field(
        True,
        description="Check that the server answers before the first submit, and refuse to submit when it does not.",
    )

    runner: ClassVar[str] = "crystalwidgets.runners.covalent.runner:CovalentRunner"

    @field_validator("server_address")
    @classmethod
    def _address_is_url(cls, value: str) -> str:
        value = value.strip()
        if value and not _ADDRESS.match(value):
            raise ValueError(
                f"{value!r} is not the address of a server; write it as http://HOST:PORT (e.g. "
                "http://localhost:48008), or leave it empty for a local server of crystalwidgets' own"
            )
        return value.rstrip("/")

    @property
    def runs_here(self) -> bool:
        return self.local  # the local server's executors run on this machine

    @property
    def local(self) -> bool:
        """True when jobs go to crystalwidgets' own local server."""
        return not self.server_address

    def address(self, home: Path | None = None) -> str:
        """The server's address (the local server's read back from its config)."""
        if self.server_address:
            return self.server_address.rstrip("/")
        return local_server(self, home).address()

    def check(self, *, deep: bool = False) -> list[str]:
        """Every problem found, each naming the field and the fix; empty when the server is up.

        A local server that is not running is reported (it starts on the first submit).
        """
        if importlib.util.find_spec("covalent") is None:
            return [_NO_COVALENT]
        why = probe(self.address(), min(self.call_timeout_s, 5.0))
        if why is None:
            return []
        if self.local:
            server = local_server(self)
            return [
                f"server_address: the local Covalent server is not running ({why}); it starts on "
                f"the first submit, or call start_local_server(profile). Its config: "
                f"{server.config_file}; its log: {server.log_file}"
            ]
        return [
            f"server_address: {why}; start your server (`covalent start`) or fix server_address "
            "(leave it empty for a local server of crystalwidgets' own)"
        ]

    def actions(self) -> list[dict[str, str]]:
        """Start or stop the local server (for a profile with an empty ``server_address``)."""
        if not self.local:
            return []
        server = local_server(self)
        where = f"its config: {server.config_file}; its log: {server.log_file}"
        return [
            {
                "name": "start-server",
                "label": "Start local server",
                "help": (
                    f"Start crystalwidgets' own Covalent server on port {self.local_port} (at most "
                    f"{self.start_timeout_s:g} s; jobs would start it on the first submit); {where}"
                ),
            },
            {
                "name": "stop-server",
                "label": "Stop local server",
                "help": f"Stop the local Covalent server; jobs still running on it are killed and fail; {where}",
            },
        ]

    def action_timeout(self, name: str) -> float:
        return self.start_timeout_s + 40.0  # start, or stop (bounded at 30 s) and a kill

    def run_action(self, name: str) -> str:
        if not self.local or name not in ("start-server", "stop-server"):
            return super().run_action(name)
        if importlib.util.find_spec("covalent") is None:
            from ...errors import ProfileError

            raise ProfileError(_NO_COVALENT)
        server = local_server(self)
        if name == "start-server":
            was_up = server.running()
            address = server.start(self.start_timeout_s)
            state = "was already running" if was_up else "started"
            return f"the local Covalent server {state} at {address}; its log: {server.log_file}"
        server.stop()
        return f"the local Covalent server (port {self.local_port}) is stopped"

    def preflight(self) -> list[str]:
        """What must stop a submit: Covalent missing, or a server of yours that does not answer."""
        if importlib.util.find_spec("covalent") is None:
            return [_NO_COVALENT]
        if self.local:
            return []  # the runner starts it
        return self.check()


def local_server(profile: CovalentProfile, home: Path | None = None) -> LocalServer:
    """The local server serving ``profile`` for the crystalwidgets home ``home`` (default: the user's)."""
    return LocalServer(
        server_root(home_dir(home)), profile.local_port, cluster=profile.executor == "dask"
    )


def start_local_server(profile: CovalentProfile, home: Path | None = None) -> str:
    """Start the local Covalent server of ``profile`` (bounded by ``start_timeout_s``); its address.

    Raises :class:`~.server.ServerError` with the end of its log when it does not come up.
    """
    return local_server(profile, home).start(profile.start_timeout_s)


def stop_local_server(profile: CovalentProfile, home: Path | None = None) -> None:
    """Stop the local Covalent server of ``profile`` and every process it started.

    Jobs still running on it are killed and turn failed in the job table.
    """
    local_server(profile, home).stop()
