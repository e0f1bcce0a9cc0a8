"""The App's OPTIMADE search (Python side) against the real reference server: the search runs
off the kernel's thread, the status says "searching" then the hits or the error, hits load into
the dropdown as uploads do, hits that cannot be loaded say why."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from crystalwidgets.errors import CrystalWidgetsError, StructureError
from tests.helpers import free_port, wait_until


def _app(manager, server_url: str, **fields):
    from crystalwidgets.widgets import App

    app = App(manager)
    app.optimade.provider.value = server_url
    for name, value in fields.items():
        getattr(app.optimade, name).value = value
    return app


def _search(app) -> list[str]:
    """Press Search; wait for the answer; the status lines shown, in order."""
    seen: list[str] = []
    app.optimade.status.observe(lambda change: seen.append(change["new"]), names="value")
    thread = app.optimade.start_search()
    thread.join(30)
    assert not thread.is_alive()
    wait_until(lambda: not app.optimade.search_button.disabled, 10, "Search to be enabled again")
    return seen


def test_the_search_runs_off_the_kernels_thread_and_a_hit_loads_like_an_upload(manager, optimade_server, monkeypatch):
    from crystalwidgets.widgets import _optimade

    threads, real = [], _optimade.search

    def search(**kwargs):  # the real search, noting where it ran
        threads.append(threading.current_thread())
        return real(**kwargs)

    monkeypatch.setattr(_optimade, "search", search)
    app = _app(manager, optimade_server.url, elements="Ag")
    seen = _search(app)
    assert threads and all(t is not threading.main_thread() for t in threads)
    port = optimade_server.port
    assert seen[0] == f"searching {optimade_server.url} ..."
    entries = {e["id"]: e for e in optimade_server.structures('elements HAS "Ag"')}
    assert seen[-1] == f"{len(entries)} hit(s) from 127.0.0.1:{port} (1 loadable)"
    rows = [label for label, _ in app.optimade.hits.options]
    assert len(rows) == len(entries)
    assert "mpf_200 | Ag | 1 sites | -" in rows
    assert all(("not loadable: " in row) == (not row.startswith("mpf_200 ")) for row in rows)
    assert app.optimade.load_button.disabled  # nothing picked yet

    app.optimade.hits.value = (rows.index("mpf_200 | Ag | 1 sites | -"),)
    assert not app.optimade.load_button.disabled
    app.optimade.load_button.click()
    assert app.names == [f"1: Ag (optimade: 127.0.0.1:{port} mpf_200) (Ag, 1 atoms)"]
    attrs = entries["mpf_200"]["attributes"]
    assert np.allclose(app.structure.positions, attrs["cartesian_site_positions"])
    assert np.allclose(app.structure.cell[:], attrs["lattice_vectors"])
    assert app.viewer.structure is app.structure or np.allclose(app.viewer.structure.positions, app.structure.positions)
    assert app.optimade.status.value == "loaded 1 structure(s)"
    assert app.form.can_submit  # as after an upload


def test_picked_hits_that_cannot_load_say_why(manager, optimade_server):
    app = _app(manager, optimade_server.url, elements="Ag", nelements="3")
    _search(app)
    hits = app.optimade.results.hits
    assert hits and not any(hit.loadable for hit in hits)
    app.optimade.hits.value = (0,)
    app.optimade.load_selected()
    assert app.structures == []
    assert app.optimade.status.value == f"{hits[0].id} not loaded: {hits[0].reason}"


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"elements": "Qq"}, "elements: 'Qq' is not a chemical symbol"),
        ({"nelements": "many"}, "nelements: 'many' is not a whole number"),
        ({"filter": "foo=3"}, "refused the search (HTTP 400: 'foo' is not a known or searchable quantity)"),
    ],
)
def test_errors_show_in_the_status(manager, optimade_server, fields, says):
    app = _app(manager, optimade_server.url, **fields)
    seen = _search(app)
    assert seen[0].startswith("searching ")
    assert says in seen[-1]
    assert app.optimade.hits.options == () and app.structures == []


def test_an_unreachable_provider_is_named_in_the_status(manager):
    url = f"http://127.0.0.1:{free_port()}"
    app = _app(manager, url, elements="Si")
    seen = _search(app)
    assert seen[-1].startswith(f"cannot reach 127.0.0.1:{url.rsplit(':', 1)[1]} at {url}/v1/structures")


def test_python_api_search_and_load(manager, optimade_server):
    from crystalwidgets.widgets import App

    app = App(manager)
    found = app.search_optimade(optimade_server.url, elements="Ag", page_limit=100)
    assert [label for label, _ in app.optimade.hits.options][0].startswith(found.hits[0].id)
    good = next(i for i, hit in enumerate(found.hits) if hit.loadable)
    bad = next(i for i, hit in enumerate(found.hits) if not hit.loadable)
    with pytest.raises(StructureError, match=rf"{found.hits[bad].id}\) cannot be loaded: .*closer than 0.5"):
        app.load_optimade([good, bad])
    assert app.structures == []  # all or none
    with pytest.raises(CrystalWidgetsError, match=r"hits: no hit 99: the last search listed"):
        app.load_optimade(99)
    (atoms,) = app.load_optimade([found.hits[good]])
    assert app.structure is atoms and atoms is not found.hits[good].atoms
    assert atoms.info["optimade_id"] == found.hits[good].id
    assert app.pick.options[-1].startswith(f"1: {found.hits[good].name}")
