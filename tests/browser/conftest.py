"""Fixtures for browser tests: a private JupyterLab and headless Chromium (see ``_lab.py``).

- ``lab`` (session): JupyterLab on a free 127.0.0.1 port with a token, private
  JUPYTER_CONFIG_DIR / DATA_DIR / RUNTIME_DIR / IPYTHONDIR / CRYSTALWIDGETS_HOME, serving a
  scratch copy of ``notebooks/``; stopped after the session (terminate, then kill; bounded).
- ``notebook7``, ``voila`` (session): the same for Jupyter Notebook 7 and for Voila (each
  with its own private directories), started only when a test asks for them.
- ``browser`` (session): Debian's /usr/bin/chromium through Playwright's sync API.
- ``open_notebook`` (function): ``open_notebook("viewer-demo.ipynb")`` opens the notebook in
  a fresh page and workspace and returns a :class:`_lab.NotebookPage` (``run_all()``,
  ``screenshot()``, ``panel``); ``lab.probe(notebook)`` then reads the kernel's Python state.

The whole folder is skipped, with the reason, only when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _lab import (  # noqa: E402
    CHROMIUM,
    JupyterLab,
    JupyterServer,
    Notebook7,
    NotebookPage,
    Voila,
    chromium,
    copy_notebooks,
)

if not CHROMIUM.exists():
    pytest.skip(
        f"browser tests need Chromium at {CHROMIUM} (Debian: apt-get install chromium)",
        allow_module_level=True,
    )


def _serve(kind: type[JupyterServer], tmp_path_factory: pytest.TempPathFactory, name: str):
    base = tmp_path_factory.mktemp(name)
    server = kind(copy_notebooks(base / "notebooks"), base / "state")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory):
    yield from _serve(JupyterLab, tmp_path_factory, "jupyterlab")


@pytest.fixture(scope="session")
def notebook7(tmp_path_factory: pytest.TempPathFactory):
    yield from _serve(Notebook7, tmp_path_factory, "notebook7")


@pytest.fixture(scope="session")
def voila(tmp_path_factory: pytest.TempPathFactory):
    yield from _serve(Voila, tmp_path_factory, "voila")


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test file. Not for the session: Playwright's sync API keeps its asyncio
    loop running in this thread while it is open, and the tests that xdist runs on the same
    worker after a browser file would see a running loop (as in a kernel) where none is."""
    with chromium() as browser_:
        yield browser_


@pytest.fixture
def open_notebook(lab: JupyterLab, browser, request: pytest.FixtureRequest):
    contexts = []

    def open_(notebook: str, width: int = 1280, height: int = 900) -> NotebookPage:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        return NotebookPage(context.new_page(), lab, notebook).open()

    yield open_
    for context in contexts:
        context.close()
