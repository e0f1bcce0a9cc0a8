"""RecipeForm and App, Python side: entries -> validated kwargs, errors per field, submit."""

from __future__ import annotations

import math

import pytest
from ase.build import bulk

from crystalwidgets import JobState
from crystalwidgets.recipes.availability import availability as _availability
from crystalwidgets.widgets._entries import from_entry, to_entry
from crystalwidgets.widgets._form import RecipeForm


def test_initial_values_and_cleaned_kwargs():
    form = RecipeForm("emt.relax_job", relax_cell=True, opt_params={"fmax": 0.02, "max_steps": 50})
    assert form.valid and form.errors == {}
    assert form.value == {"relax_cell": True, "opt_params": {"fmax": 0.02, "max_steps": 50}}
    assert [f["name"] for f in form.spec["fields"]][:2] == ["relax_cell", "opt_params"]


def test_every_bad_field_flagged_with_the_specs_message():
    form = RecipeForm("emt.relax_job")
    form.entries = {
        "relax_cell": {"text": "yes"},
        "opt_params": {"rows": [["fmax", "nan"], ["max_stepz", "3"]]},
    }
    assert not form.valid and form.value == {}
    assert "True or False" in form.errors["relax_cell"]
    assert "finite" in form.errors["opt_params['fmax']"]
    assert "max_steps" in form.errors["opt_params['max_stepz']"]  # closest valid key


def test_use_default_leaves_a_field_out():
    form = RecipeForm("emt.relax_job", relax_cell=True)
    form.entries = {"relax_cell": {"checked": True, "use_default": True}}
    assert form.valid and form.value == {}


def test_calculator_kwargs_pass_unchecked_and_are_listed():
    form = RecipeForm("emt.static_job")
    form.entries = {"**calc_kwargs": {"rows": [["asap_cutoff", "true"]]}}
    assert form.valid and form.value == {"asap_cutoff": True}
    assert form.unchecked == ["asap_cutoff"]


def test_literal_choices_and_numbers():
    form = RecipeForm("emt.md.md_job", dynamics="nvt", steps=10)
    assert form.value == {"dynamics": "nvt", "steps": 10}
    form.entries = {**form.entries, "steps": {"text": "2.5"}}
    assert "whole number" in form.errors["steps"]
    form.entries = {**form.entries, "steps": {"text": "1e2"}}
    assert form.valid and form.value["steps"] == 100


def test_switching_recipe_resets_entries():
    form = RecipeForm("emt.relax_job", relax_cell=True)
    form.recipe = "tblite.static_job"
    assert form.entries == {} and "method" in [f["name"] for f in form.spec["fields"]]


def test_submit_message_runs_callbacks_only_when_valid():
    form = RecipeForm("emt.relax_job")
    calls = []
    form.on_submit(lambda f: calls.append(dict(f.value)))
    form._on_frontend_msg(form, {"kind": "submit"}, [])
    assert calls == [{}]
    form.entries = {"relax_cell": {"text": "nope"}}
    form._on_frontend_msg(form, {"kind": "submit"}, [])
    form.can_submit = False
    form.entries = {}
    form._on_frontend_msg(form, {"kind": "submit"}, [])
    assert calls == [{}]


def test_entries_round_trip():
    node = {"kind": "union", "args": [{"kind": "float"}, {"kind": "none"}]}
    assert from_entry(node, to_entry(node, 0.25)) == 0.25
    assert from_entry(node, {"text": "None"}) is None
    assert math.isnan(from_entry(node, {"text": "nan"}))
    lit = {"kind": "literal", "values": ["a", "b"]}
    assert from_entry(lit, to_entry(lit, "b")) == "b"


def test_availability_is_computed_out_of_process():
    reasons = _availability()
    assert reasons["emt.relax_job"] is None
    assert "emt.defects.bulk_to_defects_flow" in reasons and reasons["emt.defects.bulk_to_defects_flow"]


def test_app_submits_the_form_and_sweeps(manager, monkeypatch):
    from crystalwidgets.widgets import App, _app

    app = App(manager, recipe="emt.static_job")
    assert not app.form.can_submit and "structure" in app.form.status
    app.add_structure(bulk("Cu"), name="cu")
    app.add_structure(bulk("Al"), name="al")
    assert app.form.can_submit and app.structure.get_chemical_formula() == "Al"
    rec = app.submit()
    assert rec.formula == "Al" and rec.profile == "local"

    jobs = app.sweep_jobs()  # every loaded structure
    assert [(a.get_chemical_formula(), label) for a, _, label in jobs] == [("Cu", "cu"), ("Al", "al")]
    app.form.recipe = "emt.relax_job"
    jobs = app.sweep_jobs({"opt_params.fmax": [0.1, 0.05]}, over="selected")
    assert [(k["opt_params"]["fmax"], label) for _, k, label in jobs] == [(0.1, "al fmax=0.1"), (0.05, "al fmax=0.05")]
    recs = app._run_sweep_sync(jobs)
    assert app.progress.value == 2 and len(recs) == 2
    done = manager.wait([r.id for r in [rec, *recs]], timeout=180)
    assert all(r.state is JobState.COMPLETED for r in done)

    # a long sweep goes in batches, the progress bar following; a bad job stops it, saying where
    monkeypatch.setattr(_app, "_SWEEP_BATCH", 2)
    app.form.recipe = "emt.static_job"
    many = app.sweep_jobs() * 2
    recs = app._run_sweep_sync(many)
    assert len(recs) == 4 and app.progress.value == 4 and app.progress_text.value == "submitted 4 of 4"
    bad = [*many[:3], (bulk("Cu"), {"additional_fields": 5})]
    recs = app._run_sweep_sync(bad)
    assert len(recs) == 2 and app.progress.value == 2
    text = app.progress_text.value
    assert "2 of 4 jobs submitted" in text and "jobs 3-4" in text
    assert "job 2 of 2" in text and "additional_fields" in text
    assert not app.sweep_button.disabled
    assert len(manager.jobs()) == 3 + 4 + 2  # the failed batch recorded nothing

    with pytest.raises(Exception, match="relax_cell"):
        app.form.recipe = "emt.relax_job"
        app.sweep_jobs({"relax_cell": ["maybe"]})


def test_app_shows_load_errors_and_keeps_going(manager, tmp_path):
    from crystalwidgets.widgets import App

    app = App(manager)
    app.paste.value = "this is not a structure\nat all\n"
    app._on_paste()
    assert "pasted text" in app.message.value and app.structure is None
    app.paste.value = "2\nwater-ish\nH 0 0 0\nH 0 0 0.9\n"
    app._on_paste()
    assert app.structure is not None and len(app.structure) == 2
    assert app.names[-1] == "1: water-ish (H2, 2 atoms)"  # its title, not the whole text


def test_the_app_submits_what_it_shows_and_the_supercell_becomes_a_structure_on_request(manager):
    from crystalwidgets.widgets import App

    app = App(manager, structure=bulk("Cu"))
    assert app.supercell_note.value == "" and app.use_supercell.layout.display == "none"
    app.viewer.supercell = (2, 2, 2)
    assert "Submit runs the 1-atom cell" in app.supercell_note.value
    assert app.use_supercell.description == "Use the 2×2×2 supercell (8 atoms)"
    assert len(app.structure) == 1  # what Submit would run: the picked cell
    bigger = app.add_supercell()
    assert len(bigger) == 8 and app.structure is bigger and len(app.viewer.structure) == 8
    assert app.names[-1] == "2: Cu8 from 1: Cu, supercell 2×2×2 (Cu, 8 atoms)"
    assert app.viewer.supercell == (1, 1, 1) and app.supercell_note.value == ""
    app.add_structure(molecule_h2o())  # a molecule: no copies along non-periodic axes
    app.viewer.supercell = (3, 3, 3)
    assert app.supercell_note.value == ""
    app.pick.index = 0  # Cu again: the view repeats it, the note comes back
    assert "1-atom cell" in app.supercell_note.value
    # a job's details show its structure in the table's own viewer: the App's viewer, the
    # dropdown and what Submit runs stay the picked Cu
    job = manager.submit(bulk("Al", cubic=True), "emt.static_job")
    [done] = manager.wait([job.id], timeout=120)
    assert done.state is JobState.COMPLETED, done.error
    app.table.show_details(job.short_id)
    assert app.table.details_id == job.id and app.table.viewer is not app.viewer
    assert app.table.viewer.structure.get_chemical_formula() == "Al4"
    assert app.viewer.structure.get_chemical_formula() == "Cu" and app.pick.index == 0
    assert app.structure.get_chemical_formula() == "Cu"


def test_the_app_builds_new_structures_from_the_picked_one_with_their_origin(manager):
    from crystalwidgets.widgets import App

    app = App(manager, structure=bulk("NaCl", "rocksalt", a=5.64))
    app.tool.value = "supercell"
    app.tool_text.value = "2 2 2"
    app._on_tool_apply()
    assert len(app.structure) == 16 and app.names[-1] == "2: Cl8Na8 from 1: NaCl, supercell 2×2×2 (NaCl, 16 atoms)"
    assert app.message.value.startswith("made 2: Cl8Na8")
    app.tool.value = "substitute"
    assert app.tool_text.placeholder == "Na -> K" and "element -> element" in app.tool_help.value
    app.tool_text.value = "Na -> Fe"
    app._on_tool_apply()
    assert app.structure.get_chemical_formula() == "Cl8Fe8" and "Na→Fe (8 sites)" in app.names[-1]
    app.tool_text.value = "Na -> K"  # no Na left in the picked one: said, nothing added
    app._on_tool_apply()
    assert "has no Na" in app.message.value and len(app.structures) == 3
    app.tool.value = "primitive"
    assert app.tool_text.disabled
    app.pick.index = 0
    made = app.transform("strain", percent=2)
    assert made is app.structure and "strained 2 %" in app.names[-1]


def test_the_app_loads_many_structures_at_once_all_or_none(manager):
    from crystalwidgets.errors import StructureError
    from crystalwidgets.widgets import App

    app = App(manager, structure=[bulk("Cu"), bulk("Al"), bulk("NaCl", "rocksalt", a=5.64)])
    assert app.pick.options == ("1: Cu (Cu, 1 atoms)", "2: Al (Al, 1 atoms)", "3: NaCl (NaCl, 2 atoms)")
    assert app.pick.index == 2 and app.structure.get_chemical_formula() == "ClNa"
    squashed = bulk("Cu", cubic=True)
    squashed.positions[1] = squashed.positions[0] + 0.05
    with pytest.raises(StructureError, match=r"atoms 0 \(Cu\) and 1 \(Cu\).*apart"):
        app.add_structures([bulk("Fe"), squashed])
    assert len(app.structures) == 3 and len(app.pick.options) == 3  # none of the batch added


def molecule_h2o():
    from ase.build import molecule

    return molecule("H2O")


def test_switching_the_recipe_away_and_back_keeps_what_was_entered():
    form = RecipeForm("emt.relax_job", relax_cell=True, opt_params={"fmax": 0.02})
    entered = dict(form.entries)
    form.recipe = "emt.static_job"
    assert form.entries == {} and form.value == {}
    form.set_values(asap_cutoff=True)  # a calculator keyword (static_job's **calc_kwargs)
    static = dict(form.entries)
    assert static
    form.recipe = "emt.relax_job"
    assert form.entries == entered
    assert form.value == {"relax_cell": True, "opt_params": {"fmax": 0.02}}
    form.recipe = "emt.static_job"
    assert form.entries == static


def test_a_long_paste_is_read_off_the_kernels_thread(manager, monkeypatch):
    """A pasted 20,000-atom XYZ (1 MB): the kernel's thread returns at once, the structure follows."""
    import time

    import numpy as np

    from crystalwidgets.widgets import App
    from tests.helpers import wait_until

    grid = np.arange(28) * 3.7  # an argon cluster on a cubic grid, 20,000 of its points
    positions = np.stack(np.meshgrid(grid, grid, grid), axis=-1).reshape(-1, 3)[:20_000]
    text = "20000\nargon gas\n" + "".join(f"Ar {x:.4f} {y:.4f} {z:.4f}\n" for x, y, z in positions)
    app = App(manager)
    app.paste.value = text
    t0 = time.perf_counter()
    app._on_paste()
    assert time.perf_counter() - t0 < 0.1 and app.message.value.startswith("reading the pasted text")
    wait_until(lambda: app.message.value == "loaded the pasted structure", 60, "the pasted structure")
    assert len(app.structure) == 20_000 and app.names[-1].startswith("1: argon gas (Ar")
    app.paste.value = "80000\nclaims more atoms than it holds\n" + text.split("\n", 2)[2]
    app._on_paste()
    wait_until(lambda: not app.message.value.startswith("reading"), 60, "the error")
    assert "80000" in app.message.value or "80,000" in app.message.value, app.message.value
    assert len(app.structures) == 1  # nothing added


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Si2\n1.0\n0 2.7 2.7\n2.7 0 2.7\n2.7 2.7 0\nSi\n2\nDirect\n0 0 0\n0.25 0.25 0.25\n", "Si2"),
        ("data_quartz\n_cell_length_a 4.9\n", "quartz"),
        ("3\nO 0 0 0\nH 0 0 1\nH 0 1 0\n", None),  # an XYZ without a comment line
        ('{"numbers": [1]}', None),
        ("   \n", None),
    ],
)
def test_paste_label(text, label):
    from crystalwidgets.widgets._app import paste_label

    assert paste_label(text) == label


def test_form_and_app_show_what_the_recipe_cannot_handle_before_submit(manager):
    from ase.build import molecule

    from crystalwidgets.widgets import App

    form = RecipeForm("emt.relax_job", relax_cell=False)
    form.structure = bulk("NaCl", "rocksalt", a=5.64)
    assert not form.valid and form.value == {"relax_cell": False}
    assert "no parameters for Cl, Na" in form.errors["structure"]
    form.recipe = "tblite.relax_job"
    assert form.valid and "structure" not in form.errors

    app = App(manager, structure=molecule("CO"), recipe="emt.elastic.elastic_tensor_flow")
    assert not app.form.valid and "full unit cell" in app.form.errors["structure"]
    app.add_structure(bulk("Cu"))
    assert app.form.valid and app.form.errors == {}
    app.pick.index = 0
    assert not app.form.valid
    with pytest.raises(Exception, match="cannot run on CO"):
        app.submit()
    assert "not submitted: emt.elastic.elastic_tensor_flow cannot run on CO" in app.form.status
    assert manager.jobs() == [] and manager.store.count() == 0


def test_uploads_are_parsed_off_the_kernels_thread(manager, monkeypatch):
    import threading

    from crystalwidgets.widgets import App, _app
    from tests.helpers import wait_until

    parsing, release, threads = threading.Event(), threading.Event(), []
    real = _app.load_structure

    def load(*args, **kwargs):  # the real reader, held until the test has seen the handler return
        threads.append(threading.current_thread())
        parsing.set()
        assert release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(_app, "load_structure", load)
    app = App(manager)
    good = b"2\nH2\nH 0 0 0\nH 0 0 0.74\n"
    bad = b"1000000000\nclaims a lot\nH 0 0 0\n"
    app._on_upload({"new": [{"name": "h2.xyz", "content": memoryview(good)}, {"name": "big.xyz", "content": bad}]})
    assert parsing.wait(30) and app.structure is None  # the handler returned while parsing goes on
    assert app.message.value == "reading 2 file(s)..."
    release.set()
    wait_until(lambda: app.structure is not None and "big.xyz" in app.message.value, 30, "the upload to land")
    assert threads and all(t is not threading.main_thread() for t in threads)
    assert app.names == ["1: h2.xyz (H2, 2 atoms)"]
    assert "line 1 says its frame has 1,000,000,000 atoms" in app.message.value
    assert app.message.value.endswith("loaded 1 file(s)")
