"""OPTIMADE search against a real OPTIMADE server: optimade-python-tools' reference server on
127.0.0.1 (``tests/optimade_server.py``), its bundled test data read independently to compare,
and a second one serving a JSONL file with a disordered and an unknown-element entry."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from crystalwidgets.errors import OptimadeError
from crystalwidgets.structures.optimade import providers, resolve_provider, search
from crystalwidgets.structures.optimade_convert import entry_to_atoms
from crystalwidgets.structures.optimade_filter import build_filter
from tests.helpers import free_port
from tests.optimade_server import OptimadeServer


def bundled() -> list[dict]:
    """The reference server's bundled structures, read from the package's own file."""
    import optimade.server.data

    return json.loads((Path(optimade.server.data.__file__).parent / "test_structures.json").read_text())


def ids(results) -> set[str]:
    return {hit.id for hit in results.hits}


# -- filters -----------------------------------------------------------------


def test_filter_from_simple_fields():
    assert build_filter("Si O") == 'elements HAS ALL "Si","O"'
    assert build_filter(["Na", "Cl"], nelements=2) == 'elements HAS ALL "Na","Cl" AND nelements=2'
    # reduced formula as OPTIMADE spells it: alphabetical, divided by the gcd, no 1s
    assert build_filter(formula="SiO2") == 'chemical_formula_reduced="O2Si"'
    assert build_filter(formula="Na2Cl2") == 'chemical_formula_reduced="ClNa"'
    assert build_filter(formula="Fe4O6") == 'chemical_formula_reduced="Fe2O3"'
    assert build_filter("Fe", filter="nsites<=8 OR nsites>100") == 'elements HAS ALL "Fe" AND (nsites<=8 OR nsites>100)'
    assert build_filter(filter='elements HAS "Fe"') == 'elements HAS "Fe"'


@pytest.mark.parametrize(
    ("kwargs", "field", "says"),
    [
        ({"elements": "si"}, "elements", "did you mean 'Si'"),
        ({"elements": "Si Qq"}, "elements", "'Qq' is not a chemical symbol"),
        ({"formula": "Si(O2)"}, "formula", "e.g. 'SiO2'"),
        ({"formula": "Xy2"}, "formula", "'Xy'"),
        ({"formula": "Na0Cl"}, "formula", "leave Na out"),
        ({"nelements": "two"}, "nelements", "from 1 to 118"),
        ({"nelements": 0}, "nelements", "from 1 to 118"),
        ({"elements": "Si O", "nelements": 1}, "nelements", "fewer than the 2 elements"),
        ({"filter": "elements HAS Si"}, "filter", "not an OPTIMADE filter"),
        ({"filter": "x" * 5000}, "filter", "too long"),
        ({}, "elements", "nothing to search for"),
    ],
)
def test_bad_fields_are_named_with_the_fix(kwargs, field, says):
    with pytest.raises(OptimadeError) as info:
        build_filter(**kwargs)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ") and says in str(info.value)


def test_providers_by_name_or_base_url():
    assert resolve_provider("mp") == ("mp", providers()["mp"].rstrip("/"))
    assert resolve_provider("http://127.0.0.1:5000/v1/structures/") == ("127.0.0.1:5000", "http://127.0.0.1:5000")
    for bad in ("", "optimade.example", "ftp://x.example", "http://127.0.0.1:5000/?filter=x"):
        with pytest.raises(OptimadeError) as info:
            resolve_provider(bad)
        assert info.value.field == "provider"
    with pytest.raises(OptimadeError) as info:
        search("http://127.0.0.1:1", elements="Si", page_limit=0)
    assert info.value.field == "page_limit"
    with pytest.raises(OptimadeError) as info:
        search("http://127.0.0.1:1", elements="Si", timeout=0)
    assert info.value.field == "timeout"


# -- the real server ---------------------------------------------------------


@pytest.mark.parametrize("element", ["Si", "Ag", "Ac"])
def test_search_by_element_finds_what_the_server_holds(optimade_server, element):
    data = bundled()
    expected = {e["task_id"] for e in data if element in e["elements"]}
    assert expected  # the bundled data has each of them
    found = search(optimade_server.url, elements=element, page_limit=100)
    assert ids(found) == expected
    assert found.total == len(expected) and not found.more
    assert ids(found) == {e["id"] for e in optimade_server.structures(f'elements HAS "{element}"')}
    assert found.filter == f'elements HAS ALL "{element}"'


def test_formula_nelements_and_raw_filter_agree_with_the_data(optimade_server):
    data = bundled()
    url = optimade_server.url
    # any spelling of the formula finds the entry
    assert ids(search(url, formula="IrAgAc2")) == {e["task_id"] for e in data if e["pretty_formula"] == "Ac2AgIr"}
    assert ids(search(url, nelements=1, page_limit=100)) == {e["task_id"] for e in data if e["nelements"] == 1}
    assert ids(search(url, elements="Ag", filter="nsites<=4", page_limit=100)) == {
        e["task_id"] for e in data if "Ag" in e["elements"] and e["nsites"] <= 4
    }
    assert ids(search(url, elements="Ag Ac", nelements=3)) == {
        e["task_id"] for e in data if {"Ag", "Ac"} <= set(e["elements"]) and e["nelements"] == 3
    }
    assert search(url, elements="Ag Si", nelements=2).hits == []


def test_one_page_at_most_page_limit(optimade_server):
    n = sum("Ag" in e["elements"] for e in bundled())
    found = search(optimade_server.url, elements="Ag", page_limit=3)
    assert len(found.hits) == 3 and found.total == n and found.more
    assert found.summary().startswith(f"3 of {n} hit(s) from 127.0.0.1:{optimade_server.port}")


def test_hits_become_atoms_at_the_entries_positions(optimade_server):
    found = search(optimade_server.url, elements="Ag", page_limit=100)
    entries = {e["id"]: e for e in optimade_server.structures('elements HAS "Ag"')}
    for hit in found.hits:
        attrs = entries[hit.id]["attributes"]
        assert hit.nsites == attrs["nsites"]
        converted = entry_to_atoms(entries[hit.id])  # every entry converts; the checks then judge
        assert np.allclose(converted.positions, attrs["cartesian_site_positions"])
        assert np.allclose(converted.cell[:], attrs["lattice_vectors"])
        by_name = {s["name"]: s["chemical_symbols"][0] for s in attrs["species"]}
        assert converted.get_chemical_symbols() == [by_name[name] for name in attrs["species_at_sites"]]
        if hit.loadable:
            assert np.allclose(hit.atoms.positions, attrs["cartesian_site_positions"])
            assert hit.atoms.info == {"optimade_provider": hit.provider, "optimade_id": hit.id}
            assert hit.reason is None
        else:  # the bundled data's made-up positions put atoms on top of each other
            assert hit.atoms is None and "closer than 0.5" in hit.reason
    loadable = [hit for hit in found.hits if hit.loadable]
    assert [hit.id for hit in loadable] == ["mpf_200"]  # Ag, one atom in its cell
    assert loadable[0].name == f"Ag (optimade: 127.0.0.1:{optimade_server.port} mpf_200)"


def test_the_providers_refusal_is_shown(optimade_server):
    with pytest.raises(OptimadeError, match=r"refused the search \(HTTP 400: 'foo' is not a known or searchable"):
        search(optimade_server.url, filter="foo=3")
    with pytest.raises(OptimadeError, match=r"no OPTIMADE structures at .*/v1/info/v1/structures \(HTTP 404\)"):
        search(f"{optimade_server.url}/v1/info", elements="Si")


def _entry(entry_id, cell, positions, species, at_sites, formula, features=(), **extra):
    elements = sorted({s for sp in species for s in sp["chemical_symbols"] if s != "X"})
    return {
        "type": "structures",
        "id": entry_id,
        "attributes": {
            "elements": elements, "nelements": len(elements), "elements_ratios": [1 / len(elements)] * len(elements),
            "chemical_formula_descriptive": formula, "chemical_formula_reduced": formula,
            "chemical_formula_anonymous": "A", "dimension_types": [1, 1, 1], "nperiodic_dimensions": 3,
            "lattice_vectors": cell, "cartesian_site_positions": positions, "nsites": len(positions),
            "species": species, "species_at_sites": at_sites, "structure_features": list(features),
            "last_modified": "2024-01-01T00:00:00Z", **extra,
        },
    }


def _species(name, symbols=None, concentration=None):
    symbols = symbols or [name]
    return {"name": name, "chemical_symbols": symbols, "concentration": concentration or [1.0] * len(symbols)}


A = 2.82
FCC = [[0, A, A], [A, 0, A], [A, A, 0]]
ENTRIES = [
    _entry("cw-nacl", FCC, [[0, 0, 0], [A, A, A]], [_species("Na"), _species("Cl")], ["Na", "Cl"], "ClNa",
           space_group_symbol_hermann_mauguin="F m -3 m"),
    _entry("cw-cuau", np.eye(3).tolist(), [[0, 0, 0]], [_species("CuAu", ["Au", "Cu"], [0.5, 0.5])], ["CuAu"],
           "AuCu", features=["disorder"]),
    _entry("cw-x", FCC, [[0, 0, 0], [A, A, A]], [_species("Na"), _species("X")], ["Na", "X"], "Na"),
]


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    """The reference server serving ENTRIES from a JSONL file."""
    base = tmp_path_factory.mktemp("optimade-own")
    jsonl = base / "structures.jsonl"
    lines = [{"x-optimade": {"meta": {"api_version": "1.1.0"}}}, *ENTRIES]
    jsonl.write_text("".join(json.dumps(line) + "\n" for line in lines))
    server = OptimadeServer(base, jsonl=jsonl).start()
    try:
        yield server
    finally:
        server.stop()


def test_disordered_and_unknown_entries_are_listed_not_loadable(own_server):
    found = search(own_server.url, filter="nsites>0")
    hits = {hit.id: hit for hit in found.hits}
    assert set(hits) == {"cw-nacl", "cw-cuau", "cw-x"}
    nacl = hits["cw-nacl"]
    assert nacl.loadable and nacl.name == f"NaCl (optimade: 127.0.0.1:{own_server.port} cw-nacl)"
    assert nacl.space_group == "F m -3 m" and nacl.nsites == 2
    assert nacl.atoms.get_chemical_symbols() == ["Na", "Cl"]
    assert np.allclose(nacl.atoms.positions, [[0, 0, 0], [A, A, A]]) and np.allclose(nacl.atoms.cell[:], FCC)
    assert not hits["cw-cuau"].loadable and "partial occupancy or disorder" in hits["cw-cuau"].reason
    assert not hits["cw-x"].loadable and "unknown element ('X')" in hits["cw-x"].reason
    assert found.summary() == f"3 hit(s) from 127.0.0.1:{own_server.port} (1 loadable)"


def test_an_entry_without_all_positions_is_not_converted():
    entry = _entry("p", FCC, [[0, 0, 0], [None, None, None]], [_species("Na"), _species("Cl")], ["Na", "Cl"], "ClNa")
    with pytest.raises(Exception, match="some positions are unknown"):
        entry_to_atoms(entry)
    entry["attributes"]["species"][0] = _species("Na", ["Na", "K"], [0.9, 0.1])  # disorder, undeclared
    with pytest.raises(Exception, match=r"species 'Na': Na 0.9 \+ K 0.1"):
        entry_to_atoms(entry)


# -- every wait bounded ------------------------------------------------------


def test_a_server_that_accepts_and_never_answers_gives_an_error_within_the_bound():
    held: list[socket.socket] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(10)
        port = listener.getsockname()[1]

        def accept() -> None:
            try:
                held.append(listener.accept()[0])  # and never answer
            except OSError:
                pass

        threading.Thread(target=accept, daemon=True).start()
        started = time.monotonic()
        with pytest.raises(OptimadeError, match=r"did not answer") as info:
            search(f"http://127.0.0.1:{port}", elements="Si", timeout=1.5)
        took = time.monotonic() - started
    for conn in held:
        conn.close()
    assert held, "the request never reached the silent server"
    assert 1.4 <= took < 2.5, took
    assert f"127.0.0.1:{port}" in str(info.value) and "timeout=" in str(info.value)


def test_an_unreachable_port_gives_an_error_at_once():
    port = free_port()  # nothing listens there
    started = time.monotonic()
    with pytest.raises(OptimadeError, match=r"cannot reach 127\.0\.0\.1:\d+ .*Connection refused.*check the provider's base URL"):
        search(f"http://127.0.0.1:{port}", elements="Si", timeout=5)
    assert time.monotonic() - started < 2


def test_a_server_of_another_optimade_version_is_named_as_such(tmp_path):
    """The reference server serving as OPTIMADE 2.0 (its /v2 routes, /versions and
    meta.api_version follow the package's version constant): the search says which versions
    it speaks instead of a bare 404."""
    server = OptimadeServer(tmp_path / "v2", api_version="2.0.0").start()
    try:
        assert server.get("/v2/structures", page_limit=1)["meta"]["api_version"] == "2.0.0"
        started = time.monotonic()
        with pytest.raises(OptimadeError) as err:
            search(server.url, elements="Si", timeout=10)
        assert time.monotonic() - started < 10
        assert f"at {server.url} speaks OPTIMADE version 2 only (its /versions)" in str(err.value)
        assert "crystalwidgets speaks version 1" in str(err.value)
    finally:
        server.stop()


def test_the_v1_servers_versions_list_one(optimade_server):
    import urllib.request

    with urllib.request.urlopen(f"{optimade_server.url}/versions", timeout=10) as response:  # noqa: S310 - local
        assert response.read().decode().split() == ["version", "1"]
    assert search(optimade_server.url, elements="Ag").hits  # the version check lets it through
