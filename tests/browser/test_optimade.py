"""The App's OPTIMADE search in real JupyterLab and Chromium, as a user does it: open "Search
OPTIMADE", give the provider (the reference OPTIMADE server on 127.0.0.1) and an element,
Search, pick the hit, Load; it is in the structure dropdown and the viewer draws it."""

from __future__ import annotations

import pytest

from tests.helpers import wait_until

pytestmark = pytest.mark.browser

NOTEBOOK = "app.ipynb"


def texts(options) -> list[str]:
    """Option texts with ipywidgets' non-breaking spaces as plain ones."""
    return [t.replace("\xa0", " ") for t in options.all_inner_texts()]


def test_search_optimade_and_load_a_hit(open_notebook, lab, optimade_server):
    notebook = open_notebook(NOTEBOOK, height=1500)
    notebook.run_all(timeout=200)
    panel, page = notebook.panel, notebook.page
    app = panel.locator(".cw-app").first
    app.locator(".jupyter-widget-Collapse-header", has_text="Search OPTIMADE").click()
    search = app.locator(".cw-optimade")
    search.wait_for(state="visible", timeout=10_000)

    provider = search.locator(".cw-optimade-provider input")
    provider.fill(optimade_server.url)
    provider.press("Tab")
    search.locator(".cw-optimade-elements input").fill("Ag")
    search.locator(".cw-optimade-nelements input").fill("1")
    search.locator(".cw-optimade-nelements input").press("Tab")
    search.locator("button.cw-optimade-search").click()

    status = search.locator(".cw-optimade-status")
    port = optimade_server.port
    expected = [e["id"] for e in optimade_server.structures('elements HAS "Ag" AND nelements=1')]
    assert expected == ["mpf_200"]  # the bundled data's one Ag-only structure
    wait_until(lambda: "hit(s) from" in status.inner_text(), 30, "the hits to be listed")
    assert status.inner_text() == f"1 hit(s) from 127.0.0.1:{port} (1 loadable)"
    options = search.locator(".cw-optimade-hits select option")
    assert texts(options) == ["mpf_200 | Ag | 1 sites | -"]
    search.locator(".cw-optimade-hits select").select_option(index=0)
    load = search.locator("button.cw-optimade-load")
    wait_until(load.is_enabled, 10, "Load selected to be enabled")
    load.click()

    name = f"2: Ag (optimade: 127.0.0.1:{port} mpf_200) (Ag, 1 atoms)"
    pick = app.locator(".cw-structure-pick select")
    wait_until(lambda: name in texts(pick.locator("option")), 20, "the hit in the structure dropdown")
    selected = "el => el.options[el.selectedIndex].text.replaceAll('\\u00a0', ' ')"
    wait_until(lambda: pick.evaluate(selected) == name, 10, "the hit selected")
    viewer = app.locator(".cw-viewer").first
    page.wait_for_function(
        "el => el.dataset.cwAtoms === '1' && el.dataset.cwAtomsOnCanvas",
        arg=viewer.element_handle(),
        timeout=30_000,
    )
    assert status.inner_text() == "loaded 1 structure(s)"
    with lab.probe(NOTEBOOK) as kernel:
        assert kernel.eval("app.names[-1]") == name
        assert kernel.eval("app.structure.info['optimade_id']") == "mpf_200"
        assert kernel.eval("app.structure.get_chemical_symbols()") == ["Ag"]
    notebook.screenshot("app-optimade-loaded", app.locator(".cw-structure-box"))
