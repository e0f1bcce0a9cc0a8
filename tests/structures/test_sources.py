"""Every way a user hands over a structure, end to end through submit and the App.

ASE's CIF reader and ``ase.spacegroup.crystal`` put an ``ase.spacegroup.Spacegroup``
object in ``atoms.info``: such structures were refused at submit. Each source here is
submitted for real (EMT on the local runner, or the user's own job), the job must
complete, and the stored input structure must read back with the same geometry.
"""

from __future__ import annotations

import io

import ase.io
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.spacegroup import crystal

from crystalwidgets import JobState, StructureError
from crystalwidgets.structures.codec import structure_hash
from tests import jobfuncs


def _cu3au() -> Atoms:
    return crystal(["Au", "Cu"], [(0, 0, 0), (0, 0.5, 0.5)], spacegroup=221, cellpar=[3.75, 3.75, 3.75, 90, 90, 90])


def _quartz() -> Atoms:
    return crystal(
        ["Si", "O"], [(0.4697, 0, 1 / 3), (0.4135, 0.2669, 0.7857)], spacegroup=152,  # alpha-quartz
        cellpar=[4.916, 4.916, 5.405, 90, 90, 120],
    )


def _written(atoms: Atoms, fmt: str, **kw) -> str:
    buf = io.BytesIO() if fmt == "cif" else io.StringIO()  # ASE's CIF writer wants bytes
    ase.io.write(buf, atoms, format=fmt, **kw)
    value = buf.getvalue()
    return value.decode() if isinstance(value, bytes) else value


def _ase_read(tmp_path, atoms: Atoms, name: str, fmt: str | None = None) -> Atoms:
    path = tmp_path / name
    ase.io.write(path, atoms, format=fmt)
    return ase.io.read(path, format=fmt)


def _pymatgen_cif(tmp_path) -> Atoms:
    from pymatgen.core import Structure
    from pymatgen.io.cif import CifWriter

    cu = Structure.from_spacegroup("Fm-3m", [[3.61, 0, 0], [0, 3.61, 0], [0, 0, 3.61]], ["Cu"], [[0, 0, 0]])
    CifWriter(cu, symprec=0.01).write_file(tmp_path / "Cu-pmg.cif")  # symmetrised: 1 site
    return ase.io.read(tmp_path / "Cu-pmg.cif")


def _traj_with_energy(tmp_path) -> Atoms:
    atoms = bulk("Cu", cubic=True)
    atoms.calc = SinglePointCalculator(atoms, energy=-1.0, forces=np.zeros((4, 3)))
    ase.io.write(tmp_path / "cu.traj", atoms)
    return ase.io.read(tmp_path / "cu.traj")


def _extxyz_with_info(tmp_path) -> Atoms:
    atoms = bulk("Cu", cubic=True)
    atoms.info.update(note="from a script", step=3)
    atoms.set_array("weights", np.arange(4.0))
    return _ase_read(tmp_path, atoms, "cu.extxyz")


# name -> builder(tmp_path) -> what the user passes
SOURCES = {
    "ase.io.read(cif) of crystal()": lambda t: _ase_read(t, _cu3au(), "Cu3Au.cif"),
    "ase.io.read(cif) of pymatgen": _pymatgen_cif,
    "crystal()": lambda t: _cu3au(),
    "bulk()": lambda t: bulk("Cu", "fcc", a=3.6),
    "ase.io.read(POSCAR)": lambda t: _ase_read(t, bulk("Cu", cubic=True), "POSCAR", "vasp"),
    "ase.io.read(extxyz) with info": _extxyz_with_info,
    "ase.io.read(traj) with energy": _traj_with_energy,
    "ase.io.read(json) of crystal()": lambda t: _ase_read(t, _cu3au(), "Cu3Au.json"),
    "pymatgen Structure": lambda t: __import__("pymatgen.io.ase", fromlist=["x"]).AseAtomsAdaptor.get_structure(_cu3au()),
    "pymatgen Molecule": lambda t: __import__("pymatgen.core", fromlist=["x"]).Molecule(["Cu", "Cu"], [[0, 0, 0], [0, 0, 2.3]]),
    "CIF path": lambda t: (t / "Cu3Au.cif", ase.io.write(t / "Cu3Au.cif", _cu3au()))[0],
    "CIF path as str": lambda t: (str(t / "Cu3Au.cif"), ase.io.write(t / "Cu3Au.cif", _cu3au()))[0],
    "CIF bytes with a name": lambda t: (_written(_cu3au(), "cif").encode(), "upload.cif"),
    "POSCAR bytes with a name": lambda t: (_written(bulk("Cu", cubic=True), "vasp").encode(), "POSCAR"),
    "pasted CIF": lambda t: _written(_cu3au(), "cif"),
    "pasted POSCAR": lambda t: _written(bulk("Cu", cubic=True), "vasp"),
}


def _given(tmp_path, key):
    value = SOURCES[key](tmp_path)
    return value if isinstance(value, tuple) and isinstance(value[0], bytes) else (value, None)


def test_every_source_is_submitted_and_runs(manager, tmp_path):
    jobs = {}
    for key in SOURCES:
        where = tmp_path / str(len(jobs))
        where.mkdir()
        source, name = _given(where, key)
        if name is not None:  # bytes: the file name tells the format, as an upload's does
            from crystalwidgets import load_structure

            source = load_structure(source, name=name)
        jobs[key] = manager.submit(source, "emt.static_job")
    done = {rec.id: rec for rec in manager.wait([r.id for r in jobs.values()], timeout=240)}
    for key, rec in jobs.items():
        rec = done[rec.id]
        assert rec.state is JobState.COMPLETED, f"{key}: {rec.error}"
        assert rec.summary["energy_ev"] is not None, key
        back = manager.structure(rec.id)
        assert structure_hash(back) == rec.structure_hash, key
        assert set(back.get_chemical_symbols()) <= {"Cu", "Au"}, key


def test_cif_read_by_ase_keeps_its_spacegroup_through_the_store(manager, tmp_path):
    """The issue's own example: quartz read by ASE, with the user's own job."""
    ase.io.write(tmp_path / "quartz.cif", _quartz())
    quartz = ase.io.read(tmp_path / "quartz.cif")
    assert type(quartz.info["spacegroup"]).__name__ == "Spacegroup"
    rec = manager.submit(quartz, jobfuncs.scaled_volume_job, factor=1.1)
    (rec,) = manager.wait([rec.id], timeout=120)
    assert rec.state is JobState.COMPLETED, rec.error
    assert rec.formula == "SiO2"
    back = manager.structure(rec.id)
    assert len(back) == len(quartz) == 9
    # stored as ASE's own JSON stores it (ase.io.jsonio): the Spacegroup's dict
    assert back.info["spacegroup"] == {"number": 1, "setting": 1}  # the CIF writer writes P1
    assert np.allclose(back.cell.array, quartz.cell.array)
    assert quartz.info["spacegroup"].no == 1  # the user's object is untouched


def test_app_takes_a_structure_read_by_ase_and_submits_it(manager, tmp_path):
    from crystalwidgets.widgets import App

    ase.io.write(tmp_path / "Cu3Au.cif", _cu3au())
    app = App(manager, structure=ase.io.read(tmp_path / "Cu3Au.cif"), recipe="emt.static_job")
    assert app.structure is not None and app.form.can_submit
    assert len(app.viewer.structure) == 4 and app.viewer._structure_data
    rec = app.submit()
    app.add_structure(_cu3au(), name="built")  # crystal() straight in
    rec2 = app.submit()
    done = manager.wait([rec.id, rec2.id], timeout=120)
    assert [r.state for r in done] == [JobState.COMPLETED] * 2, [r.error for r in done]
    assert {r.formula for r in done} == {"Cu3Au"}


def test_disordered_cif_read_by_ase_is_refused_like_the_file(manager, tmp_path):
    path = tmp_path / "CuAu-disordered.cif"
    path.write_text(_disordered_cif())
    atoms = ase.io.read(path)  # ASE keeps one element per site
    before = manager.jobs()
    with pytest.raises(StructureError, match="partially occupied sites, e.g. Cu 0.5 \\+ Au 0.5"):
        manager.submit(atoms, "emt.static_job")
    with pytest.raises(StructureError, match="CuAu-disordered.cif.*partially occupied"):
        manager.submit(path, "emt.static_job")
    assert manager.jobs() == before


def _disordered_cif() -> str:
    return """data_CuAu
_cell_length_a 3.75
_cell_length_b 3.75
_cell_length_c 3.75
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'P 1'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
Cu1 Cu 0 0 0 0.5
Au1 Au 0 0 0 0.5
Cu2 Cu 0.5 0.5 0 1.0
"""


def test_info_that_json_cannot_carry_is_refused_naming_the_key(manager):
    atoms = bulk("Cu")
    atoms.info["handle"] = object()
    with pytest.raises(StructureError, match=r"atoms.info\['handle'\] holds a builtins.object"):
        manager.submit(atoms, "emt.static_job")
    deep: dict = {}
    for _ in range(5000):
        deep = {"d": deep}
    atoms.info = {"deep": deep}
    with pytest.raises(StructureError, match=r"atoms.info\['deep'\].*nested too deeply"):
        manager.submit(atoms, "emt.static_job")
    assert manager.jobs() == []


def test_a_rows_formula_is_the_same_before_and_after_completion(manager):
    """One formula rule (pymatgen's reduced formula) for the store, the summary and the table."""
    from pymatgen.core import Lattice, Structure

    lfp = Structure(
        Lattice.orthorhombic(10.33, 6.01, 4.69), ["Li", "Fe", "P", "O", "O", "O", "O"],
        [[0, 0, 0], [0.28, 0.25, 0.97], [0.09, 0.25, 0.42], [0.1, 0.25, 0.74],
         [0.46, 0.25, 0.21], [0.17, 0.05, 0.28], [0.17, 0.45, 0.28]],
    )
    from crystalwidgets.widgets import JobTable

    table = JobTable(manager)
    jobs = [manager.submit(s, jobfuncs.schema_job) for s in (_quartz(), lfp, _cu3au())]
    shown = table.to_dataframe().set_index("id")
    before = {r.id: (r.formula, shown.loc[r.id, "formula"]) for r in jobs}
    assert [f for f, _ in before.values()] == ["SiO2", "LiFePO4", "Cu3Au"]
    done = manager.wait([r.id for r in jobs], timeout=120)
    for rec in done:
        assert rec.state is JobState.COMPLETED, rec.error
        assert rec.summary["formula"] == rec.formula == before[rec.id][0]
    shown = table.to_dataframe().set_index("id")
    for rec in done:
        assert shown.loc[rec.id, "formula"] == before[rec.id][1] == rec.formula
    df = manager.to_dataframe().set_index("id")
    assert [df.loc[r.id, "formula"] for r in done] == ["SiO2", "LiFePO4", "Cu3Au"]
