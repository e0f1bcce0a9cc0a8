"""StructureViewer's Python side: what it sends the browser and the read-only traits
(summary, measurement, selection) it computes. The drawing is in tests/browser."""

from __future__ import annotations

import pytest
from ase.build import bulk, molecule

from crystalwidgets.widgets import StructureViewer


def test_sends_bonds_and_images_and_summary():
    viewer = StructureViewer(bulk("NaCl", "rocksalt", a=5.64, cubic=True))
    data = viewer._structure_data
    assert len(data["images"]) == 19 * 4 and len(data["bonds"]) % 5 == 0 and data["bonds"]
    assert viewer.summary["space_group"] == {"symbol": "Fm-3m", "number": 225}
    assert viewer.summary["lattice"]["a"] == pytest.approx(5.64)
    assert viewer.show_images is True


def test_measurement_follows_selection():
    viewer = StructureViewer(bulk("NaCl", "rocksalt", a=5.64, cubic=True))
    assert viewer.measurement is None
    viewer.selected = [0, 1]
    assert viewer.measurement["kind"] == "distance"
    assert viewer.measurement["value"] == pytest.approx(viewer.structure.get_distance(0, 1, mic=True))
    viewer.selected = [0, 1, 2]
    assert viewer.measurement["value"] == pytest.approx(viewer.structure.get_angle(0, 1, 2, mic=True))
    viewer.selected = [0]
    assert viewer.measurement is None


def test_selection_cleared_for_another_structure_kept_for_new_positions():
    viewer = StructureViewer(bulk("NaCl", "rocksalt", a=5.64, cubic=True), selected=[0, 1])
    viewer.structure = bulk("NaCl", "rocksalt", a=5.70, cubic=True)  # same atoms, moved
    assert viewer.selected == [0, 1] and viewer.measurement["value"] == pytest.approx(2.85)
    viewer.structure = bulk("KCl", "rocksalt", a=6.3, cubic=True)  # MoS2 #0 is not artroeite #0
    assert viewer.selected == [] and viewer.selection_info == [] and viewer.measurement is None
    viewer.selected = [2]
    viewer.structure = molecule("H2O")
    assert viewer.selected == [] and viewer.summary["space_group"] is None
    viewer.structure = None
    assert viewer.summary == {} and viewer._structure_data == {}


def test_no_bonds_sent_above_the_limit(monkeypatch):
    from crystalwidgets.widgets import _viewer

    monkeypatch.setattr(_viewer, "BOND_LIMIT", 3)
    viewer = StructureViewer(bulk("Cu", cubic=True))
    assert viewer._structure_data["bonds"] is None and viewer._structure_data["images"]


def test_a_big_structure_is_described_off_the_callers_thread():
    """Bonds and symmetry of 4,000 atoms take ~0.4 s: setting the structure does not wait."""
    import time

    from crystalwidgets.widgets import _viewer

    viewer = StructureViewer(bulk("Cu", cubic=True))
    big = bulk("Cu", cubic=True) * (10, 10, 10)
    t0 = time.perf_counter()
    viewer.structure = big
    assert time.perf_counter() - t0 < 0.05 and viewer._describing
    assert len(viewer._structure_data["positions"]) == 4  # the old picture until it is ready
    assert viewer.wait_described(60)
    assert len(viewer._structure_data["positions"]) == 4000 and viewer._structure_data["bonds"]
    assert viewer.summary["elements"] == [{"symbol": "Cu", "count": 4000}]

    # a structure set while another is described wins, whichever finishes last
    viewer.structure = big
    viewer.structure = bulk("Al", cubic=True)
    assert not viewer._describing and viewer._structure_data["symbols"] == ["Al"] * 4
    import threading

    for thread in threading.enumerate():
        if thread.name == "cw-viewer-describe":
            thread.join(60)  # the big one's description arrives late...
    assert viewer._structure_data["symbols"] == ["Al"] * 4  # ...and is dropped
    assert _viewer.INLINE_ATOMS < 4000
