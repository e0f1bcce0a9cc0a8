"""A real OPTIMADE server for tests: optimade-python-tools' reference server (``uvicorn
optimade.server.main:app``) on a free 127.0.0.1 port, with its mongomock backend.

By default it serves the package's bundled test data (17 structures, named as in its own
test configuration: ``task_id`` is the id, ``pretty_formula`` the reduced formula); given a
JSONL file, it serves that instead. The config file is one of the test's own
(``OPTIMADE_CONFIG_FILE``), so no user's ``~/.optimade.json`` is read. Starting waits until
``/v1/info`` answers (bounded); stopping terminates, then kills (bounded).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.helpers import die_with_parent, free_port, stop_process_group, wait_until

#: How the bundled test data names OPTIMADE's fields (as optimade-python-tools' own test config does).
BUNDLED_ALIASES = {
    "structures": {
        "id": "task_id",
        "immutable_id": "_id",
        "chemical_formula_descriptive": "pretty_formula",
        "chemical_formula_reduced": "pretty_formula",
        "chemical_formula_anonymous": "formula_anonymous",
    }
}


# the reference server as another OPTIMADE version: the package constant set before import
_AS_VERSION = """
import sys
import optimade
optimade.__api_version__ = sys.argv[1]
import uvicorn
uvicorn.run("optimade.server.main:app", host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


class OptimadeServer:
    """The reference OPTIMADE server, serving the bundled test data or ``jsonl``.

    Parameters
    ----------
    base : Path
        A scratch directory for its config and log.
    jsonl : Path, optional
        An OPTIMADE JSONL file to serve instead of the bundled test data.
    api_version : str, optional
        Serve as this OPTIMADE version instead of the package's own (its routes, ``/versions``
        and ``meta.api_version`` follow: the server reads the version from the package
        constant, set here before the server's modules are imported).
    """

    def __init__(self, base: Path, jsonl: Path | None = None, api_version: str | None = None) -> None:
        self.api_version = api_version
        self.major = (api_version or "1").split(".")[0]
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.jsonl = jsonl
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.log_path = self.base / "optimade-server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> OptimadeServer:
        config = self.base / "optimade-config.json"
        config.write_text(json.dumps({} if self.jsonl else {"aliases": BUNDLED_ALIASES}))
        self.port = free_port()
        env = {
            **os.environ,
            "OPTIMADE_CONFIG_FILE": str(config),
            "OPTIMADE_DATABASE_BACKEND": "mongomock",
            "OPTIMADE_INSERT_TEST_DATA": "false" if self.jsonl else "true",
            "OPTIMADE_BASE_URL": self.url,
            "OPTIMADE_LOG_LEVEL": "warning",
        }
        if self.jsonl:
            env["OPTIMADE_INSERT_FROM_JSONL"] = str(self.jsonl)
        with self.log_path.open("ab") as log:
            command = [sys.executable, "-m", "uvicorn", "optimade.server.main:app", "--host", "127.0.0.1",
                       "--port", str(self.port), "--log-level", "warning"]
            if self.api_version:
                command = [sys.executable, "-c", _AS_VERSION, self.api_version, str(self.port)]
            self.process = subprocess.Popen(
                command,
                cwd=self.base, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=die_with_parent,
            )

        def up() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"the OPTIMADE server exited with {self.process.returncode}:\n{self.log_tail()}")
            if self.api_version:  # its /info refuses a base URL not /v0 or /v1 (the models' pattern)
                return bool(self.get(f"/v{self.major}/structures", timeout=2, page_limit=1).get("meta"))
            return bool(self.get("/v1/info", timeout=2).get("data"))

        try:
            wait_until(up, timeout, f"the OPTIMADE server on port {self.port} (log: {self.log_path})", interval=0.2)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10) -> None:
        process, self.process = self.process, None
        stop_process_group(process, timeout)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def get(self, path: str, timeout: float = 10, **params: Any) -> Any:
        """GET a path of the server (with query ``params``) and decode its JSON: the tests' own
        look at what it holds, independent of crystalwidgets' client."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=timeout) as response:  # noqa: S310 - local
            return json.loads(response.read())

    def structures(self, filter: str = "", **params: Any) -> list[dict[str, Any]]:  # noqa: A002
        """Every structure entry the server holds that matches ``filter`` (all pages)."""
        entries: list[dict[str, Any]] = []
        page = self.get("/v1/structures", page_limit=100, **({"filter": filter} if filter else {}), **params)
        while True:
            entries += page["data"]
            link = (page.get("links") or {}).get("next")
            link = link.get("href") if isinstance(link, dict) else link
            if not page["meta"].get("more_data_available") or not link:
                return entries
            with urllib.request.urlopen(link, timeout=10) as response:  # noqa: S310 - local
                page = json.loads(response.read())
