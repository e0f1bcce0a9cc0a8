"""Drive a private JupyterLab in headless Chromium: start the server, open and run notebooks,
read the kernel's Python state, take screenshots.

Shared by ``tests/browser/conftest.py`` (fixtures) and ``bench/`` scripts. Every wait is
bounded; a timeout raises with what was being waited for.

Reading Python-side state
-------------------------
:class:`KernelProbe` talks to the notebook's own kernel over ZeroMQ with ``jupyter_client``,
using the connection file the server wrote into our private runtime directory (the kernel is
found through ``/api/sessions``). :meth:`KernelProbe.eval` sends an ``execute_request`` with
empty code and a ``user_expressions`` entry, so it adds no cell, no output and no history,
and the value comes back in the shell reply as JSON. :meth:`KernelProbe.exec` runs statements
(e.g. ``viewer.supercell = (1, 1, 1)``); comm messages it causes reach the browser like any
other widget update. The kernel runs requests one at a time, so a probe waits while a cell
runs; widget messages from the browser are handled in order too, so poll with
:meth:`KernelProbe.wait_for` after a click.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from tests.helpers import die_with_parent as _die_with_parent
from tests.helpers import free_port as _free_port
from tests.helpers import stop_process_group, wait_until

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-unsafe-swiftshader",
]
REPO = Path(__file__).resolve().parents[2]

# Lab settings for tests: every cell attached to the DOM (so widgets below the fold render),
# no news or update checks (no network), no toasts over the notebook.
LAB_SETTINGS = {
    # autoStartDefaultKernel: no "Select Kernel" dialog popping up over a running notebook
    # (seen under load; accepting it disturbed the kernel mid Run All)
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
}


def artifacts_dir() -> Path:
    """Where screenshots go: ``$CW_ARTIFACTS``, else ``<repo>/test-artifacts``."""
    path = Path(os.environ.get("CW_ARTIFACTS") or REPO / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path




class JupyterServer:
    """A Jupyter front end's server on 127.0.0.1 with its own config, data, runtime, IPython
    and crystalwidgets directories under ``base``, serving ``root``.

    Subclasses say which program runs (:meth:`command`), which path answers once it is up
    (:attr:`ready_path`) and where a notebook opens (``notebook_url``): :class:`JupyterLab`,
    :class:`Notebook7`, :class:`Voila`.

    Parameters
    ----------
    root : Path
        The directory notebooks are opened from.
    base : Path
        A private scratch directory for the server's state and log.
    """

    #: what the server is called in messages
    name = "Jupyter server"
    #: the log's file name under ``base``
    log_name = "server.log"
    #: a GET path that answers (JSON) once the server is up
    ready_path = "/api/status"

    def __init__(self, root: Path, base: Path) -> None:
        self.root = Path(root)
        self.base = Path(base)
        self.token = uuid.uuid4().hex
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.log_path = self.base / self.log_name
        self.env = dict(os.environ)
        for name, sub in {
            "JUPYTER_CONFIG_DIR": "jupyter-config",
            "JUPYTER_DATA_DIR": "jupyter-data",
            "JUPYTER_RUNTIME_DIR": "jupyter-runtime",
            "IPYTHONDIR": "ipython",
            "CRYSTALWIDGETS_HOME": "crystalwidgets-home",
            "CRYSTALWIDGETS_CONFIG": "crystalwidgets-config",
        }.items():
            path = self.base / sub
            path.mkdir(parents=True, exist_ok=True)
            self.env[name] = str(path)
        self.env.pop("JUPYTER_PATH", None)
        self.env.pop("JUPYTER_PREFER_ENV_PATH", None)
        self.runtime_dir = Path(self.env["JUPYTER_RUNTIME_DIR"])
        # Lab and Notebook 7 read the same user settings (Voila ignores them)
        settings_dir = Path(self.env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings"
        for plugin, values in LAB_SETTINGS.items():
            path = settings_dir / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The server's command line, for :attr:`port` and :attr:`token`."""
        raise NotImplementedError

    def start(self, timeout: float = 60) -> None:
        """Start the server and wait (bounded) until :attr:`ready_path` answers."""
        for _attempt in range(3):
            self.port = _free_port()
            log = self.log_path.open("ab")
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the server and its kernels form one process group
                preexec_fn=_die_with_parent,
            )
            log.close()
            try:
                wait_until(self._ready, timeout, f"{self.name} on port {self.port} (log: {self.log_path})")
                return
            except TimeoutError:
                if self.process.poll() is None:
                    raise
                self.stop()  # exited early, e.g. the port was taken meanwhile: try another
        raise RuntimeError(f"{self.name} did not start; see {self.log_path}:\n{self.log_tail()}")

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
        self.api(self.ready_path, timeout=2)
        return True

    def stop(self, timeout: float = 15) -> None:
        """Stop the server (SIGTERM, then SIGKILL to its process group), bounded."""
        process, self.process = self.process, None
        stop_process_group(process, timeout)  # and kernels the server did not stop in time

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def api(self, path: str, timeout: float = 10) -> Any:
        """GET a Jupyter server REST path and decode its JSON."""
        request = urllib.request.Request(
            f"{self.url}{path}", headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - local
            return json.loads(response.read())

    def kernel_id(self, notebook: str, timeout: float = 30) -> str:
        """The id of the kernel of the open ``notebook`` (from ``/api/sessions``)."""

        def find() -> str | None:
            for session in self.api("/api/sessions"):
                if session.get("path") == notebook and session.get("kernel"):
                    return session["kernel"]["id"]
            return None

        return wait_until(find, timeout, f"a kernel session for {notebook}")

    @contextmanager
    def probe(self, notebook: str, timeout: float = 30) -> Iterator[KernelProbe]:
        """A :class:`KernelProbe` on the kernel of the open ``notebook``."""
        kernel_id = self.kernel_id(notebook, timeout)
        connection_file = self.runtime_dir / f"kernel-{kernel_id}.json"
        wait_until(connection_file.exists, timeout, f"the connection file {connection_file}")
        probe = KernelProbe(connection_file)
        try:
            yield probe
        finally:
            probe.close()


class JupyterLab(JupyterServer):
    """JupyterLab (``python -m jupyterlab``): see :class:`JupyterServer`."""

    name = "JupyterLab"
    log_name = "jupyterlab.log"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "jupyterlab",
            "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]

    def notebook_url(self, notebook: str) -> str:
        """A fresh workspace for ``notebook`` (so no old tabs are restored)."""
        return (
            f"{self.url}/lab/workspaces/cw-{uuid.uuid4().hex[:12]}/tree/{notebook}"
            f"?reset&token={self.token}"
        )


class Notebook7(JupyterServer):
    """Jupyter Notebook 7 (``python -m notebook``): see :class:`JupyterServer`. Its notebook
    page holds the same ``.jp-NotebookPanel`` as Lab, so :class:`NotebookPage` drives both."""

    name = "Notebook 7"
    log_name = "notebook7.log"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "notebook",
            "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
        ]

    def notebook_url(self, notebook: str) -> str:
        return f"{self.url}/notebooks/{notebook}?token={self.token}"


class Voila(JupyterServer):
    """Voilà (``python -m voila``) serving the notebooks of ``root`` as pages (its tree mode):
    see :class:`JupyterServer`. Each page load starts a kernel that runs the notebook; the
    kernels' connection files go to the private runtime directory, where :meth:`probe`
    finds them (Voilà has no ``/api/sessions``)."""

    name = "Voila"
    log_name = "voila.log"
    ready_path = "/voila/api/contents"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "voila", str(self.root),
            "--no-browser",
            "--Voila.ip=127.0.0.1",
            f"--Voila.port={self.port}",
            "--Voila.port_retries=0",
            f"--Voila.token={self.token}",
            f"--Voila.connection_dir_root={self.runtime_dir}",
        ]

    def notebook_url(self, notebook: str) -> str:
        """The page of ``notebook``: its outputs only, rendered after every cell ran."""
        return f"{self.url}/voila/render/{notebook}?token={self.token}"

    def connection_files(self) -> list[Path]:
        """The connection files of the kernels Voilà runs now."""
        return sorted(self.runtime_dir.glob("voila_*/kernel-*.json"))

    @contextmanager
    def probe(self, notebook: str = "", timeout: float = 30) -> Iterator[KernelProbe]:
        """A :class:`KernelProbe` on the kernel of the one open page (``notebook`` is not
        used: Voilà does not say which page a kernel belongs to; open one page at a time)."""

        def only() -> Path | None:
            files = self.connection_files()
            if len(files) > 1:
                raise AssertionError(f"{len(files)} Voila kernels run; open one page at a time")
            return files[0] if files else None

        probe = KernelProbe(wait_until(only, timeout, "the Voila page's kernel"))
        try:
            yield probe
        finally:
            probe.close()


class KernelProbe:
    """Evaluate expressions and run statements in a running kernel (see the module notes)."""

    def __init__(self, connection_file: Path) -> None:
        from jupyter_client import BlockingKernelClient

        self.client = BlockingKernelClient(connection_file=str(connection_file))
        self.client.load_connection_file()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=30)

    def close(self) -> None:
        self.client.stop_channels()

    def _request(self, code: str, expressions: dict[str, str], timeout: float) -> dict:
        msg_id = self.client.execute(
            code, silent=False, store_history=False, user_expressions=expressions, allow_stdin=False
        )
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the kernel did not answer within {timeout} s: {code or expressions}")
            reply = self.client.get_shell_msg(timeout=remaining)
            if reply["parent_header"].get("msg_id") == msg_id:
                content = reply["content"]
                if content["status"] != "ok":
                    raise RuntimeError(
                        f"kernel error {content.get('ename')}: {content.get('evalue')} in {code!r}"
                    )
                return content

    def eval(self, expression: str, timeout: float = 30) -> Any:
        """The value of ``expression`` in the notebook's namespace (must be JSON-able)."""
        content = self._request(
            "", {"value": f"__import__('json').dumps({expression})"}, timeout
        )
        result = content["user_expressions"]["value"]
        if result["status"] != "ok":
            raise RuntimeError(f"{expression!r} failed: {result.get('ename')}: {result.get('evalue')}")
        return json.loads(ast.literal_eval(result["data"]["text/plain"]))

    def exec(self, code: str, timeout: float = 30) -> None:
        """Run statements in the notebook's namespace; raise on an exception."""
        self._request(code, {}, timeout)

    def wait_for(self, expression: str, expected: Any, timeout: float = 20) -> Any:
        """Poll ``expression`` until it equals ``expected``; raise TimeoutError with the last value."""
        seen: list[Any] = []

        def check() -> bool:
            seen.append(self.eval(expression))
            return seen[-1] == expected

        try:
            wait_until(check, timeout, f"{expression} == {expected!r}", interval=0.2)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; last value {seen[-1] if seen else None!r}") from None
        return seen[-1]


def copy_notebooks(destination: Path) -> Path:
    """A scratch copy of the repository's ``notebooks/`` (tests never write into the repo)."""
    shutil.copytree(REPO / "notebooks", destination, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return destination


@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright's sync API (no downloaded browser), closed after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class NotebookPage:
    """A notebook opened in JupyterLab in one browser page.

    Parameters
    ----------
    page : playwright.sync_api.Page
    lab : JupyterLab
    notebook : str
        Path relative to the server root, e.g. ``"viewer-demo.ipynb"``.
    """

    def __init__(self, page: Any, lab: JupyterLab, notebook: str) -> None:
        self.page = page
        self.lab = lab
        self.notebook = notebook
        self.console: list[str] = []
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))

    @property
    def panel(self) -> Any:
        """The visible notebook panel (hidden panels of other tabs are excluded)."""
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")

    def open(self, timeout: float = 60, settle: float = 3.0) -> NotebookPage:
        """Open the notebook in a fresh workspace; wait until its kernel is idle and settled.

        Lab sometimes starts a second kernel for a freshly opened notebook a few seconds
        after the first and shuts the first down; cells sent to it meanwhile are lost
        (prompts stay ``[ ]:`` with the kernel idle). So the notebook's kernel must keep
        the same id for ``settle`` seconds before anything runs.
        """
        self.page.goto(self.lab.notebook_url(self.notebook), timeout=timeout * 1000)
        self.wait_idle(timeout)
        kernel = [self.lab.kernel_id(self.notebook, timeout), time.monotonic()]

        def settled() -> bool:
            now = self.lab.kernel_id(self.notebook, timeout)
            if now != kernel[0]:
                kernel[:] = [now, time.monotonic()]
            return time.monotonic() - kernel[1] >= settle

        wait_until(settled, timeout, f"the kernel of {self.notebook} to settle", interval=0.25)
        self.wait_idle(timeout)
        return self

    def wait_idle(self, timeout: float = 60) -> None:
        """Wait until the notebook's kernel reports idle."""
        self.panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(
            state="attached", timeout=timeout * 1000
        )

    def run_all(self, timeout: float = 120) -> None:
        """Run > Run All Cells, then wait until every code cell has run and the kernel is idle.

        The notebook must be saved without outputs (prompts ``[ ]:``). When the click is
        lost (Lab still settling after load), the menu command is tried again.
        """
        prompts = self.panel.locator(".jp-CodeCell .jp-InputArea-prompt")
        for _attempt in range(3):
            self.dismiss_dialogs()
            self.page.locator(".lm-MenuBar-item", has_text="Run").first.click(timeout=10_000)
            self.page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
            try:
                wait_until(
                    lambda: any(t.strip() != "[ ]:" for t in prompts.all_inner_texts()),
                    10,
                    "Run All Cells to start",
                )
                break
            except TimeoutError:
                self.page.keyboard.press("Escape")
        else:
            raise TimeoutError(f"Run > Run All Cells did not start {self.notebook}{self.diagnose()}")
        seen: list[list[str]] = [[]]
        tracebacks = self.panel.locator(
            ".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']"
        )

        def all_ran() -> bool:
            if tracebacks.count():  # Run All stops at the first error
                raise AssertionError(
                    f"a cell of {self.notebook} raised:\n{tracebacks.first.inner_text()}"
                )
            seen[0] = [t.strip() for t in prompts.all_inner_texts()]
            return bool(seen[0]) and all(re.fullmatch(r"\[\d+\]:", t) for t in seen[0])

        try:
            wait_until(all_ran, timeout, f"all cells of {self.notebook} to run", interval=0.25)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; prompts {seen[0]}{self.diagnose()}") from None
        self.wait_idle(timeout)

    def dismiss_dialogs(self) -> list[str]:
        """Close Lab dialogs that would block clicks (e.g. a kernel choice under load).

        Their text goes to :attr:`console` (``dialog: ...``) so a failure shows what it was.
        """
        seen = []
        dialogs = self.page.locator(".jp-Dialog")
        for _ in range(3):
            if not dialogs.count():
                break
            text = " ".join(dialogs.first.inner_text().split())[:300]
            seen.append(text)
            self.console.append(f"dialog: {text}")
            self.screenshot(f"dialog-{Path(self.notebook).stem}-{int(time.time())}")
            accept = dialogs.first.locator(".jp-mod-accept")
            if accept.count():
                accept.first.click()
            else:
                self.page.keyboard.press("Escape")
            self.page.wait_for_timeout(300)
        return seen

    def diagnose(self) -> str:
        """Text for a failure message: open dialogs, recent console lines, a screenshot."""
        dialogs = self.page.locator(".jp-Dialog").all_inner_texts()
        path = self.screenshot(f"failure-{Path(self.notebook).stem}-{int(time.time())}")
        return (
            f"; dialogs {dialogs}; screenshot {path}; console tail:\n"
            + "\n".join(self.console[-15:])
            + f"\nJupyterLab log tail:\n{self.lab.log_tail()}"
        )

    def screenshot(self, name: str, locator: Any = None) -> Path:
        """Save a PNG of ``locator`` (default: the whole page) under :func:`artifacts_dir`."""
        path = artifacts_dir() / f"{name}.png"
        (locator or self.page).screenshot(path=str(path))
        return path


@contextmanager
def demo_notebook(
    lab: JupyterLab, browser: Any, notebook: str, setup: str, width: int = 1280, timeout: float = 180
) -> Iterator[NotebookPage]:
    """Open and run ``notebook`` in its own browser context, recording and dismissing every
    browser dialog (``.dialogs``), with a kernel probe (``.probe``) that first ran ``setup``."""
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        opened = NotebookPage(page, lab, notebook).open()
        opened.run_all(timeout=timeout)
        opened.dialogs = dialogs
        with lab.probe(notebook) as probe:
            probe.exec(setup)
            opened.probe = probe
            yield opened
    finally:
        context.close()

