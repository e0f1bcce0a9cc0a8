"""The App's loaded structures outlive the kernel: kept in the job store (by content hash,
with label and provenance), listed newest first as "Recent structures" in the next kernel's
App, loaded again or forgotten there; 10,000 loaded at once stay fast."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time

import numpy as np
from ase.build import bulk

from tests.helpers import close_and_kill, wait_until


def _settled(app) -> None:
    """Wait for the App's worker threads (uploads, recording) to finish: bounded."""
    for name in ("_upload_thread", "_paste_thread", "_recent_thread", "_remember_thread"):
        thread = getattr(app, name, None)
        if thread is not None:
            thread.join(30)
            assert not thread.is_alive(), f"{name} still running after 30 s"


def _store_rows(home) -> tuple[int, int]:
    conn = sqlite3.connect(home / "jobs.sqlite")
    try:
        return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("loaded", "structures"))
    finally:
        conn.close()


def test_structures_loaded_in_one_kernel_are_recent_in_the_next(cw_home):
    from crystalwidgets import JobManager
    from crystalwidgets.widgets import App

    mgr = JobManager(monitor_interval=0.5)
    try:
        app = App(mgr)
        assert app.recent.select.options == () and app.recent.note.value == "nothing loaded yet"
        cif = bulk("Cu", cubic=True)
        import io

        from ase.io import write

        buf = io.BytesIO()
        write(buf, cif, format="cif")
        app._on_upload({"new": [{"name": "cu.cif", "content": memoryview(buf.getvalue())}]})
        wait_until(lambda: app.structure is not None, 30, "the upload to land")
        _settled(app)
        app.paste.value = "2\nhydrogen <b>bold</b>\nH 0 0 0\nH 0 0 0.74\n"  # a label that looks like HTML
        app._on_paste()
        _settled(app)
        app.pick.index = 0
        app.tool.value = "strain"
        app.tool_text.value = "2"
        app._on_tool_apply()
        _settled(app)
        assert len(app.structures) == 3, app.message.value
        strained_volume = app.structure.get_volume()
        # what the App shows in this kernel, newest first
        texts = [text for text, _ in app.recent.select.options]
        assert len(texts) == 3 and texts[0].startswith("Cu4 from 1: cu.cif, strained 2 %")
    finally:
        close_and_kill(mgr)

    # a new kernel: a new manager and App on the same home
    mgr2 = JobManager(monitor_interval=0.5)
    try:
        app2 = App(mgr2)
        assert app2.structures == []  # nothing loaded, but offered
        entries = app2.recent.entries
        assert [(e.label, e.provenance, e.formula, e.n_atoms) for e in entries] == [
            ("Cu4 from 1: cu.cif, strained 2 %", "built: strained 2 % from cu.cif", "Cu", 4),
            ("hydrogen <b>bold</b>", "paste", "H2", 2),
            ("cu.cif", "upload: cu.cif", "Cu", 4),
        ]
        assert app2.recent.select.options[1][0].startswith("hydrogen <b>bold</b> (H2, 2 atoms) - paste, ")
        # load the strained one and the upload: the same structures, named as before
        app2.recent.select.value = (entries[0].hash, entries[2].hash)
        app2.recent.load_picked()
        _settled(app2)
        assert app2.labels == ["cu.cif", "Cu4 from 1: cu.cif, strained 2 %"]  # oldest first
        assert app2.provenance[1] == "built: strained 2 % from cu.cif"
        assert app2.structure.get_volume() == strained_volume  # the one picked last is selected
        assert app2.message.value == "loaded 2 recent structure(s)"
        # loading moved them to the top; forgetting takes one off, here and in later kernels
        assert [e.label for e in app2.recent.entries][:2] == ["Cu4 from 1: cu.cif, strained 2 %", "cu.cif"]
        paste = next(e for e in app2.recent.entries if e.provenance == "paste")
        app2.recent.select.value = (paste.hash,)
        before = _store_rows(cw_home)
        app2.recent.forget_picked()
        assert app2.recent.note.value == "forgot 1 structure(s)"
        assert [e.provenance for e in app2.recent.entries] == ["built: strained 2 % from cu.cif", "upload: cu.cif"]
        assert _store_rows(cw_home) == (before[0] - 1, before[1] - 1)  # its data went too (no job used it)
        # a structure a job used keeps its data when forgotten: the job's input stays readable
        rec = mgr2.submit(app2.structure, "emt.static_job")
        app2.recent.select.value = (app2.recent.entries[0].hash,)
        app2.recent.forget_picked()
        assert mgr2.structure(rec.id).get_volume() == strained_volume
        mgr2.wait([rec.id], timeout=120)
    finally:
        close_and_kill(mgr2)
    mgr3 = JobManager(monitor_interval=0.5)
    try:
        assert [e.provenance for e in App(mgr3).recent.entries] == ["upload: cu.cif"]
    finally:
        close_and_kill(mgr3)
    # private, whatever the umask
    assert stat.S_IMODE(os.stat(cw_home / "jobs.sqlite").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cw_home).st_mode) == 0o700


def test_bad_input_loses_nothing_and_keeps_nothing(manager, cw_home):
    from crystalwidgets.widgets import App

    app = App(manager, structure=bulk("Cu"))
    _settled(app)
    before = _store_rows(cw_home)
    app.paste.value = "this is not a structure\n"
    app._on_paste()
    app.tool.value = "vacancy"  # a 1-atom cell: refused
    app.tool_text.value = "0"
    app._on_tool_apply()
    assert "leaves nothing" in app.message.value
    _settled(app)
    assert _store_rows(cw_home) == before and len(app.recent.entries) == 1


def test_ten_thousand_structures_load_fast_and_the_newest_fifty_are_kept(manager, cw_home):
    from crystalwidgets.jobs.recent import RECENT_MAX
    from crystalwidgets.structures.codec import structure_hash
    from crystalwidgets.widgets import App

    base = bulk("Cu", cubic=True)
    structures = []
    for i in range(10_000):
        atoms = base.copy()
        atoms.positions[0, 0] += i * 1e-5
        structures.append(atoms)
    app = App(manager)
    # the kernel's thread: loading alone, then loading with what keeps them (timed apart)
    recorded_in: list[threading.Thread] = []
    real = app.manager.recent_structures.remember

    def remember(entries, **kw):
        t0 = time.perf_counter()
        thread = real(entries, **kw)
        recorded_in.append((time.perf_counter() - t0, thread))
        return thread

    app.manager.recent_structures.remember = remember
    t0 = time.perf_counter()
    app.add_structures(structures)
    total = time.perf_counter() - t0
    (spent, thread), = recorded_in
    assert thread is not None and thread is not threading.current_thread()
    assert spent < 0.05, f"keeping the structures held the kernel's thread {spent:.3f} s"
    assert total < 30, total  # loading 10,000 (checked once each) as before: seconds
    thread.join(30)
    assert not thread.is_alive()
    entries = app.recent.entries
    assert len(entries) == RECENT_MAX == 50
    assert [e.hash for e in entries] == [structure_hash(a) for a in structures[::-1][:50]]  # newest first
    assert _store_rows(cw_home) == (50, 50)  # only what is kept is written
    assert len(app.structures) == 10_000 and app.pick.index == 9_999
    assert np.allclose(app.manager.recent_structures.load(entries[0].hash).positions, structures[-1].positions)
