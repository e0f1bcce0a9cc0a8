"""VASP summary values and custodian's corrections in words, on made-up schema dicts."""

from __future__ import annotations

from crystalwidgets.jobs.summary import summarise
from crystalwidgets.jobs.summary_vasp import describe_action, vasp_values


def schema(**kw):
    base = {
        "results": {"energy": -1.0},
        "vasp_version": "6.4.2",
        "output": {"bandgap": 1.5},
        "calcs_reversed": [{"output": {"efermi": 3.25, "is_metal": False, "outcar": {"total_magnetization": 2.0}}}],
        "custodian": [{"job": {}, "corrections": []}],
    }
    base.update(kw)
    return base


def test_values_of_a_vasp_schema():
    assert vasp_values(schema()) == {
        "band_gap_ev": 1.5, "efermi_ev": 3.25, "is_metal": False, "total_magnetization": 2.0,
        "custodian_restarts": 0, "custodian_corrections": [],
    }
    assert summarise(schema())["band_gap_ev"] == 1.5


def test_without_custodian_and_for_other_codes():
    values = vasp_values(schema(custodian=None))
    assert values["custodian_restarts"] is None and values["custodian_corrections"] is None
    assert vasp_values({"results": {}}) == {}
    assert "band_gap_ev" not in summarise({"results": {"energy": 1.0}})


def test_corrections_in_words_handlers_as_custodian_records_them():
    corr = [
        {"errors": ["tet"], "handler": {"@module": "custodian.vasp.handlers", "@class": "VaspErrorHandler"},
         "actions": [{"dict": "INCAR", "action": {"_set": {"ISMEAR": 0, "SIGMA": 0.05}}}]},
        {"errors": ["rspher"], "handler": "VaspErrorHandler", "actions": []},
    ]
    values = vasp_values(schema(custodian=[{"job": {}, "corrections": corr}]))
    assert values["custodian_restarts"] == 2
    assert [c["text"] for c in values["custodian_corrections"]] == [
        "VaspErrorHandler saw tet: INCAR: set ISMEAR=0, SIGMA=0.05",
        "VaspErrorHandler saw rspher: no action (it could not correct this)",
    ]


def test_describe_action_shapes_and_length():
    assert describe_action({"file": "CONTCAR", "action": {"_file_copy": {"dest": "POSCAR"}}}) == (
        'CONTCAR: file copy dest="POSCAR"'
    )
    assert describe_action({"dict": "INCAR", "action": {"_unset": ["LREAL"]}}) == 'INCAR: unset ["LREAL"]'
    assert describe_action(["odd"]) == '["odd"]'
    assert len(describe_action({"dict": "INCAR", "action": {"_set": {"X": "y" * 1000}}})) == 300
