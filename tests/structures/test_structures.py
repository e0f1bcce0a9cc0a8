"""load_structure and friends, on real files written by ASE and pymatgen."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.constraints import FixAtoms
from ase.io import write
from ase.neighborlist import neighbor_list

from crystalwidgets.errors import CrystalWidgetsError, StructureError
from crystalwidgets.structures.checks import _nearest_neighbours, check_structure
from crystalwidgets.structures.codec import structure_from_dict, structure_hash, structure_to_dict
from crystalwidgets.structures.formula import describe_structure
from crystalwidgets.structures.io import load_structure


def same_geometry(a: Atoms, b: Atoms, tol: float = 1e-6) -> None:
    assert a.get_chemical_symbols() == b.get_chemical_symbols()
    assert np.allclose(a.cell.cellpar(), b.cell.cellpar(), atol=tol)
    assert list(a.pbc) == list(b.pbc)
    if a.pbc.all():
        diff = a.get_scaled_positions() - b.get_scaled_positions()
        diff -= np.round(diff)
        assert np.abs(diff).max() < tol
    else:
        assert np.allclose(a.positions, b.positions, atol=tol)


def cu_cif(tmp_path):
    path = tmp_path / "Cu.cif"
    write(path, bulk("Cu", "fcc", a=3.61, cubic=True))
    return path


# --- every format, read back ------------------------------------------------


def test_cif_round_trip_ase_and_pymatgen_writers(tmp_path):
    cu = bulk("Cu", "fcc", a=3.61, cubic=True)
    atoms = load_structure(cu_cif(tmp_path))
    same_geometry(atoms, cu)
    assert type(atoms) is Atoms
    # the CIF reader's bookkeeping is not passed on
    assert "spacegroup" not in atoms.info and "occupancy" not in atoms.info
    assert not atoms.has("spacegroup_kinds")

    from pymatgen.core import Structure
    from pymatgen.io.cif import CifWriter

    nacl = Structure.from_spacegroup("Fm-3m", [[5.64, 0, 0], [0, 5.64, 0], [0, 0, 5.64]],
                                     ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    CifWriter(nacl, symprec=0.01).write_file(tmp_path / "NaCl.cif")  # symmetrised: 2 sites
    atoms = load_structure(str(tmp_path / "NaCl.cif"))
    assert len(atoms) == 8 and atoms.get_chemical_formula() == "Cl4Na4"
    assert np.allclose(atoms.cell.lengths(), 5.64)


def test_poscar_round_trip_by_name_and_suffix(tmp_path):
    si = bulk("Si", "diamond", a=5.43)
    write(tmp_path / "POSCAR", si, format="vasp")
    write(tmp_path / "Si.vasp", si, format="vasp")
    same_geometry(load_structure(tmp_path / "POSCAR"), si)
    same_geometry(load_structure(tmp_path / "Si.vasp"), si)
    same_geometry(load_structure(tmp_path / "Si.vasp", "POSCAR"), si)  # case-insensitive


@pytest.mark.parametrize("file_name", ["CONTCAR", "CONTCAR_relaxed", "POSCAR.1", "CONTCAR.gz"])
def test_contcar_and_poscar_names_without_extension(tmp_path, file_name):
    si = bulk("Si", "diamond", a=5.43)
    write(tmp_path / "plain", si, format="vasp")
    data = (tmp_path / "plain").read_bytes()
    path = tmp_path / file_name
    path.write_bytes(gzip.compress(data) if file_name.endswith(".gz") else data)
    same_geometry(load_structure(path), si)


def test_plain_xyz(tmp_path):
    water = molecule("H2O")
    write(tmp_path / "water.xyz", water, format="xyz")  # plain XYZ, free comment line
    atoms = load_structure(tmp_path / "water.xyz")
    same_geometry(atoms, water)
    assert not atoms.pbc.any()


def test_extxyz_keeps_info_and_arrays(tmp_path):
    water = molecule("H2O")
    water.info.update(config="md", temperature=300.0)
    water.set_initial_charges([-0.8, 0.4, 0.4])
    write(tmp_path / "water.extxyz", water)
    atoms = load_structure(tmp_path / "water.extxyz")
    same_geometry(atoms, water)
    assert atoms.info["config"] == "md" and atoms.info["temperature"] == 300.0
    assert np.allclose(atoms.get_initial_charges(), [-0.8, 0.4, 0.4])
    assert load_structure(tmp_path / "water.extxyz", format="extxyz").info["config"] == "md"


def test_json_ase_pymatgen_and_own_dict(tmp_path):
    cu = bulk("Cu", "fcc", a=3.61) * (2, 1, 1)
    write(tmp_path / "cu.json", cu)  # ASE's JSON database format
    same_geometry(load_structure(tmp_path / "cu.json"), cu)

    from pymatgen.core import Lattice, Structure

    nacl = Structure(Lattice.cubic(4.2), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    nacl.to(filename=str(tmp_path / "nacl.json"))
    atoms = load_structure(tmp_path / "nacl.json")
    assert atoms.get_chemical_symbols() == ["Na", "Cl"] and type(atoms) is Atoms

    (tmp_path / "mine.json").write_text(json.dumps(structure_to_dict(cu)))
    same_geometry(load_structure(tmp_path / "mine.json"), cu)


def test_traj_gives_last_frame_by_default(tmp_path):
    frames = []
    for step in range(3):
        frame = bulk("Cu", "fcc", a=3.61) * (2, 1, 1)
        frame.positions[1, 0] += 0.1 * step
        frames.append(frame)
    write(tmp_path / "opt.traj", frames)
    assert np.allclose(load_structure(tmp_path / "opt.traj").positions, frames[-1].positions)
    assert np.allclose(load_structure(tmp_path / "opt.traj", index=0).positions, frames[0].positions)
    with pytest.raises(StructureError) as err:
        load_structure(tmp_path / "opt.traj", index=7)
    message = str(err.value)
    assert "opt.traj" in message and "3 frame(s)" in message and "index=7" in message


def test_other_ase_formats_pass_through(tmp_path):
    cu = bulk("Cu", "fcc", a=3.61) * (2, 2, 2)
    write(tmp_path / "cu.pdb", cu)
    same_geometry(load_structure(tmp_path / "cu.pdb"), cu, tol=1e-3)  # told by ASE
    write(tmp_path / "cu.in", cu, format="espresso-in", pseudopotentials={"Cu": "Cu.UPF"})
    same_geometry(load_structure(tmp_path / "cu.in", "espresso-in"), cu)


# --- bytes and pasted text --------------------------------------------------


def test_bytes_with_format_or_name(tmp_path):
    data = cu_cif(tmp_path).read_bytes()
    cu = bulk("Cu", "fcc", a=3.61, cubic=True)
    same_geometry(load_structure(data, "cif"), cu)
    same_geometry(load_structure(bytearray(data), name="upload.cif"), cu)
    si = bulk("Si", "diamond", a=5.43)
    write(tmp_path / "POSCAR", si, format="vasp")
    same_geometry(load_structure((tmp_path / "POSCAR").read_bytes(), name="CONTCAR"), si)
    write(tmp_path / "x.traj", [si, si])  # binary format from bytes
    same_geometry(load_structure((tmp_path / "x.traj").read_bytes(), "traj"), si)


def test_bytes_without_format_lists_formats(tmp_path):
    data = cu_cif(tmp_path).read_bytes()
    with pytest.raises(StructureError) as err:
        load_structure(data)
    message = str(err.value)
    assert "<bytes>" in message and "format=" in message
    for name in ("'cif'", "'poscar'", "'xyz'", "'extxyz'", "'json'", "'traj'"):
        assert name in message
    with pytest.raises(StructureError, match=r"'notes.txt'.*does not tell the format"):
        load_structure(data, name="notes.txt")


CIF_TEXT = """
    data_NaCl
    _cell_length_a 5.64
    _cell_length_b 5.64
    _cell_length_c 5.64
    _cell_angle_alpha 90
    _cell_angle_beta 90
    _cell_angle_gamma 90
    _symmetry_space_group_name_H-M 'F m -3 m'
    _symmetry_Int_Tables_number 225
    loop_
    _atom_site_label
    _atom_site_type_symbol
    _atom_site_fract_x
    _atom_site_fract_y
    _atom_site_fract_z
    Na1 Na 0 0 0
    Cl1 Cl 0.5 0.5 0.5
"""

POSCAR_TEXT = """
    Si2
    1.0
    0.0 2.715 2.715
    2.715 0.0 2.715
    2.715 2.715 0.0
    Si
    2
    Direct
    0.0 0.0 0.0
    0.25 0.25 0.25
"""

XYZ_TEXT = """
    3
    water
    O 0.0 0.0 0.119
    H 0.0 0.763 -0.477
    H 0.0 -0.763 -0.477
"""


@pytest.mark.parametrize(
    ("text", "formula", "pbc"),
    [(CIF_TEXT, "Cl4Na4", True), (POSCAR_TEXT, "Si2", True), (XYZ_TEXT, "H2O", False)],
    ids=["cif", "poscar", "xyz"],
)
def test_pasted_text_is_recognised(text, formula, pbc):
    # indented, with a leading blank line, as a triple-quoted string in a notebook
    atoms = load_structure(text)
    assert atoms.get_chemical_formula() == formula and atoms.pbc.all() == pbc


def test_pasted_text_with_format_and_unrecognised_text():
    atoms = load_structure("2\n\nH 0 0 0\nH 0 0 0.74\n", format="xyz")
    assert atoms.get_chemical_formula() == "H2"
    one_line = json.dumps(structure_to_dict(atoms))  # JSON on one line is text, not a path
    assert "\n" not in one_line
    assert np.array_equal(load_structure(one_line).positions, atoms.positions)
    with pytest.raises(StructureError) as err:
        load_structure("Some notes\nabout a structure\n")
    message = str(err.value)
    assert "<pasted text>" in message and "format=" in message and "'cif'" in message


def test_pasted_text_errors_name_pasted_text_not_a_temporary_file():
    broken = "\n".join(POSCAR_TEXT.splitlines()[:6])  # lattice only, no species or positions
    with pytest.raises(StructureError) as err:
        load_structure(broken, format="poscar")
    message = str(err.value)
    assert "<pasted text>" in message and "POSCAR" in message
    assert "crystalwidgets-" not in message and "/tmp" not in message


# --- in-memory objects --------------------------------------------------------


def test_atoms_are_copied():
    original = bulk("Cu", "fcc", a=3.61) * (2, 1, 1)
    original.info["tag"] = [1]
    original.set_initial_magnetic_moments([1.0, 1.0])
    loaded = load_structure(original)
    loaded.positions[0] += 1.0
    loaded.info["tag"].append(2)
    loaded.arrays["initial_magmoms"][0] = 5.0
    loaded.cell[0, 0] += 1.0
    assert np.allclose(original.positions[0], 0.0)
    assert original.info["tag"] == [1]
    assert original.get_initial_magnetic_moments()[0] == 1.0
    assert original.cell[0, 0] == 0.0
    original.positions[1] += 0.5
    assert not np.allclose(loaded.positions[1], original.positions[1])


def test_pymatgen_structure_and_molecule():
    from pymatgen.core import Lattice, Molecule, Structure

    feo = Structure(Lattice.cubic(4.3), ["Fe", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]],
                    site_properties={"magmom": [4.0, 0.0]})
    atoms = load_structure(feo)
    assert type(atoms) is Atoms
    assert atoms.get_chemical_symbols() == ["Fe", "O"] and atoms.pbc.all()
    assert np.allclose(atoms.cell.lengths(), 4.3)
    assert np.allclose(atoms.get_initial_magnetic_moments(), [4.0, 0.0])

    water = molecule("H2O")
    mol = load_structure(Molecule(water.get_chemical_symbols(), water.positions))
    assert not mol.pbc.any() and np.allclose(mol.positions, water.positions)

    disordered = Structure(Lattice.cubic(4.3), [{"Fe": 0.5, "Ni": 0.5}, "O"],
                           [[0, 0, 0], [0.5, 0.5, 0.5]])
    with pytest.raises(StructureError, match=r"pymatgen Structure is disordered"):
        load_structure(disordered)


def test_unsupported_source_type():
    with pytest.raises(StructureError, match=r"cannot load a structure from a builtins.int"):
        load_structure(42)


# --- unreadable input: file, format and reason in the message -----------------


def assert_clean(err) -> str:
    """The message is self-contained: no chained traceback and no raw ASE text alone."""
    exc = err.value
    assert isinstance(exc, StructureError)
    assert isinstance(exc, CrystalWidgetsError) and isinstance(exc, ValueError)
    assert exc.__cause__ is None
    assert exc.__context__ is None or exc.__suppress_context__
    return str(exc)


def test_missing_file(tmp_path):
    with pytest.raises(StructureError) as err:
        load_structure(tmp_path / "nope.cif")
    message = assert_clean(err)
    assert "nope.cif" in message and "CIF" in message and "no such file" in message
    assert str(tmp_path) in message  # where it looked
    with pytest.raises(StructureError, match="no such file"):
        load_structure("relative/missing-POSCAR")  # a str without newline is a path


def test_directory(tmp_path):
    cu_cif(tmp_path)
    with pytest.raises(StructureError) as err:
        load_structure(tmp_path)
    message = assert_clean(err)
    assert str(tmp_path) in message and "is a directory" in message and "Cu.cif" in message


def test_empty_file(tmp_path):
    (tmp_path / "empty.cif").write_bytes(b"")
    with pytest.raises(StructureError) as err:
        load_structure(tmp_path / "empty.cif")
    message = assert_clean(err)
    assert "empty.cif" in message and "format='cif'" in message and "empty" in message
    with pytest.raises(StructureError, match=r"<bytes> as POSCAR.*empty"):
        load_structure(b"  \n", "poscar")


def test_garbage_bytes(tmp_path):
    garbage = bytes(range(256)) * 8
    (tmp_path / "junk.cif").write_bytes(garbage)
    with pytest.raises(StructureError) as err:
        load_structure(tmp_path / "junk.cif")
    message = assert_clean(err)
    assert "junk.cif" in message and "CIF" in message and "binary data" in message
    with pytest.raises(StructureError) as err:
        load_structure(garbage, "traj")
    message = assert_clean(err)
    assert "<bytes>" in message and "ASE trajectory" in message and "not a readable" in message


def test_truncated_cif(tmp_path):
    text = cu_cif(tmp_path).read_text()
    (tmp_path / "cut.cif").write_text(text[: text.index("_atom_site_fract_x")])
    with pytest.raises(StructureError) as err:
        load_structure(tmp_path / "cut.cif")
    message = assert_clean(err)
    assert "cut.cif" in message and "format='cif'" in message
    assert "truncated or not a readable CIF file" in message and "_atom_site_" in message


def test_wrong_format_given(tmp_path):
    path = cu_cif(tmp_path)
    for given, what in [("poscar", "POSCAR"), ("xyz", "XYZ"), ("traj", "ASE trajectory")]:
        with pytest.raises(StructureError) as err:
            load_structure(path, given)
        message = assert_clean(err)
        assert "Cu.cif" in message and f"as {what} (format={given!r})" in message
        assert "looks like CIF: try format='cif'" in message
    with pytest.raises(StructureError) as err:
        load_structure(path, "json")
    message = assert_clean(err)
    assert "not valid JSON" in message and "format='cif'" in message


def test_unknown_format_name(tmp_path):
    with pytest.raises(StructureError) as err:
        load_structure(cu_cif(tmp_path), "cfi")
    message = assert_clean(err)
    assert "Cu.cif" in message and "unknown format 'cfi'" in message
    assert "Did you mean 'cif'?" in message and "'poscar'" in message


def test_unknown_extension_unknown_content(tmp_path):
    (tmp_path / "notes.dat").write_text("nothing to see\n")
    with pytest.raises(StructureError) as err:
        load_structure(tmp_path / "notes.dat")
    message = assert_clean(err)
    assert "notes.dat" in message and "format=" in message


def test_partially_occupied_cif_refused(tmp_path):
    cif = textwrap_dedent(CIF_TEXT).replace("Na1 Na 0 0 0", "Na1 Na 0 0 0 0.5\nK1 K 0 0 0 0.5")
    cif = cif.replace("_atom_site_fract_z", "_atom_site_fract_z\n_atom_site_occupancy")
    cif = cif.replace("Cl1 Cl 0.5 0.5 0.5", "Cl1 Cl 0.5 0.5 0.5 1.0")
    (tmp_path / "mixed.cif").write_text(cif)
    with pytest.raises(StructureError) as err:
        load_structure(tmp_path / "mixed.cif")
    message = assert_clean(err)
    assert "mixed.cif" in message and "partially occupied" in message
    assert "Na 0.5" in message and "K 0.5" in message


def textwrap_dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text).lstrip("\n")


# --- structures unfit for a calculation ---------------------------------------


def test_empty_structures_refused(tmp_path):
    with pytest.raises(StructureError, match="holds no atoms"):
        load_structure(Atoms())
    (tmp_path / "none.xyz").write_text("0\nnothing\n")
    with pytest.raises(StructureError) as err:
        load_structure(tmp_path / "none.xyz")
    assert "none.xyz" in str(err.value) and "holds no atoms" in str(err.value)


def test_overlapping_atoms_named(tmp_path):
    water = molecule("H2O")
    water.positions[2] = water.positions[1] + [0.2, 0.0, 0.0]
    with pytest.raises(StructureError) as err:
        load_structure(water, name="my water")
    message = str(err.value)
    assert message.startswith("'my water': ")
    assert "atoms 1 (H) and 2 (H)" in message and "0.200 Å" in message
    assert "del atoms[2]" in message and "min_distance=0" in message
    assert len(load_structure(water, min_distance=0)) == 3  # the check can be skipped


def test_duplicated_site_in_file(tmp_path):
    si = bulk("Si", "diamond", a=5.43) * (2, 2, 2)
    si += Atoms("Si", positions=[si.positions[5] + [0.01, 0.0, 0.0]])
    write(tmp_path / "POSCAR", si, format="vasp")
    with pytest.raises(StructureError) as err:
        load_structure(tmp_path / "POSCAR")
    message = str(err.value)
    assert "POSCAR" in message and "atoms 5 (Si) and 16 (Si)" in message and "0.010 Å" in message


def test_overlap_across_the_periodic_boundary():
    atoms = Atoms("CuO", positions=[[0.05, 1, 1], [3.5, 1, 1]], cell=[3.6, 3.6, 3.6], pbc=True)
    with pytest.raises(StructureError) as err:
        check_structure(atoms)
    message = str(err.value)
    assert "atoms 0 (Cu) and 1 (O)" in message and "0.150 Å" in message
    assert "across the periodic boundary" in message
    atoms.pbc = False  # 3.45 Å apart without images
    check_structure(atoms)


def test_cell_too_small_and_degenerate_cells():
    with pytest.raises(StructureError, match=r"atom 0 \(H\) is only 0.300 Å from its own periodic image"):
        check_structure(Atoms("H", cell=[0.3, 5, 5], pbc=True))
    with pytest.raises(StructureError, match="periodic along a but its cell vector a is zero"):
        check_structure(Atoms("H2", positions=[[0, 0, 0], [0, 0, 1]], pbc=True))
    with pytest.raises(StructureError, match="parallel or coplanar"):
        check_structure(Atoms("H", cell=[[2, 0, 0], [4, 0, 0], [0, 0, 3]], pbc=True))
    nan = Atoms("H2", positions=[[0, 0, 0], [np.nan, 0, 0]])
    with pytest.raises(StructureError, match=r"atom 1 \(H\) has a non-finite position"):
        check_structure(nan)
    # a slab: periodic in-plane, zero out-of-plane vector, is fine
    check_structure(Atoms("H2", positions=[[0, 0, 0], [0, 0, 1]], cell=[3, 3, 0], pbc=[1, 1, 0]))


def test_nearest_neighbours_agree_with_ase_neighbor_list():
    """Random cells, skewed or not, mixed pbc: same nearest distances as ASE finds."""
    rng = np.random.default_rng(2024)
    checked = 0
    for _ in range(80):
        n = int(rng.integers(2, 12))
        cell = rng.normal(size=(3, 3)) * 0.4 + np.eye(3) * rng.uniform(2.0, 4.0)
        if rng.random() < 0.3:  # an unreduced, skewed cell describing the same lattice
            cell[1] += 2 * cell[0]
        pbc = rng.integers(0, 2, size=3).astype(bool)
        atoms = Atoms(numbers=[1] * n, cell=cell, pbc=pbc)
        atoms.positions = rng.uniform(-0.5, 1.5, size=(n, 3)) @ cell
        cutoff = float(rng.uniform(0.5, 1.8))
        if np.linalg.norm(cell, axis=1)[pbc].min(initial=np.inf) < 2 * cutoff:
            continue
        i, d = neighbor_list("id", atoms, cutoff)
        expected = np.full(n, np.inf)
        np.minimum.at(expected, i, d)
        got, neighbour, _ = _nearest_neighbours(atoms, cutoff)
        assert np.array_equal(np.isinf(got), np.isinf(expected))
        assert np.allclose(got[np.isfinite(got)], expected[np.isfinite(expected)], atol=1e-9)
        checked += 1
    assert checked > 40


def test_overlap_check_is_fast_for_10000_atoms():
    big = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((14, 14, 13))
    big.rattle(0.05, seed=3)
    assert len(big) == 10192
    start = time.perf_counter()
    check_structure(big)
    periodic = time.perf_counter() - start

    cluster = big.copy()
    cluster.pbc = False
    cluster.cell = np.zeros((3, 3))
    start = time.perf_counter()
    check_structure(cluster)
    molecule_like = time.perf_counter() - start

    squashed = big.copy()
    squashed.positions = squashed.get_scaled_positions()  # fractional read as Cartesian
    squashed.pbc = False
    start = time.perf_counter()
    with pytest.raises(StructureError, match="10192 atoms in all"):
        check_structure(squashed)
    all_overlapping = time.perf_counter() - start

    start = time.perf_counter()
    i, _ = neighbor_list("id", big, 0.5)
    ase_periodic = time.perf_counter() - start
    assert len(i) == 0
    print(
        f"\noverlap check, {len(big)} atoms: periodic {periodic * 1e3:.1f} ms, "
        f"no cell {molecule_like * 1e3:.1f} ms, all overlapping {all_overlapping * 1e3:.1f} ms; "
        f"ase.neighborlist.neighbor_list (periodic) {ase_periodic * 1e3:.1f} ms"
    )
    assert max(periodic, molecule_like, all_overlapping) < 5  # sanity bound only


# --- dict form, hash, description -----------------------------------------------


def rich_structure() -> Atoms:
    atoms = bulk("Fe", "bcc", a=2.87, cubic=True) * (2, 1, 1)
    atoms.set_initial_magnetic_moments([2.2, -2.2, 2.2, -2.2])
    atoms.set_initial_charges([0.1, -0.1, 0.0, 0.0])
    atoms.set_tags([0, 1, 0, 1])
    atoms.set_constraint(FixAtoms(indices=[0, 2]))
    atoms.info.update(
        label="afm", steps=3, nested={"a": [1, 2.5, None], "ok": True},
        vector=np.array([0.5, 1.5]), count=np.int64(7), z=1 + 2j,
    )
    return atoms


def test_dict_round_trip_is_loss_free():
    atoms = rich_structure()
    text = json.dumps(structure_to_dict(atoms), allow_nan=False)
    back = structure_from_dict(json.loads(text))
    assert back.get_chemical_symbols() == atoms.get_chemical_symbols()
    assert np.array_equal(back.positions, atoms.positions)
    assert np.array_equal(back.cell.array, atoms.cell.array)
    assert list(back.pbc) == list(atoms.pbc)
    assert np.array_equal(back.get_initial_magnetic_moments(), atoms.get_initial_magnetic_moments())
    assert np.array_equal(back.get_initial_charges(), atoms.get_initial_charges())
    assert np.array_equal(back.get_tags(), atoms.get_tags()) and back.get_tags().dtype == int
    assert [type(c).__name__ for c in back.constraints] == ["FixAtoms"]
    assert list(back.constraints[0].index) == [0, 2]
    assert back.info["label"] == "afm" and back.info["steps"] == 3
    assert back.info["nested"] == {"a": [1, 2.5, None], "ok": True}
    assert np.array_equal(back.info["vector"], [0.5, 1.5]) and isinstance(back.info["vector"], np.ndarray)
    assert back.info["count"] == 7 and back.info["z"] == 1 + 2j
    assert structure_hash(back) == structure_hash(atoms)
    # a plain structure gives the compact form only
    assert set(structure_to_dict(molecule("H2O"))) == {"symbols", "positions", "cell", "pbc"}


def test_dict_errors_name_the_problem():
    d = structure_to_dict(molecule("H2O"))
    with pytest.raises(StructureError, match="lacks 'positions'"):
        structure_from_dict({k: v for k, v in d.items() if k != "positions"})
    with pytest.raises(StructureError, match=r"unknown keys \['colour'\]"):
        structure_from_dict({**d, "colour": "red"})
    with pytest.raises(StructureError, match="3 rows of 3 numbers"):
        structure_from_dict({**d, "positions": d["positions"][:2]})
    with pytest.raises(StructureError, match="unknown element symbol"):
        structure_from_dict({**d, "symbols": ["O", "H", "Qq"]})
    odd = molecule("H2O")
    odd.info["calculator"] = object()
    with pytest.raises(StructureError, match=r"atoms.info\['calculator'\] holds a builtins.object"):
        structure_to_dict(odd)


def test_hash_stable_across_copies_and_round_trips(tmp_path):
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True) * (2, 2, 2)
    h = structure_hash(atoms)
    assert len(h) == 64 and int(h, 16) >= 0
    assert structure_hash(atoms.copy()) == h
    assert structure_hash(load_structure(atoms)) == h
    assert structure_hash(structure_from_dict(json.loads(json.dumps(structure_to_dict(atoms))))) == h
    write(tmp_path / "cu.traj", atoms)
    assert structure_hash(load_structure(tmp_path / "cu.traj")) == h
    noisy = atoms.copy()
    noisy.positions += 1e-9
    assert structure_hash(noisy) == h
    tagged = atoms.copy()
    tagged.info["note"] = "x"
    tagged.set_initial_magnetic_moments([1.0] * len(atoms))
    assert structure_hash(tagged) == h  # documented: geometry only


def test_hash_sensitive_to_geometry():
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True) * (2, 2, 2)
    h = structure_hash(atoms)
    moved = atoms.copy()
    moved.positions[3, 2] += 1e-3
    element = atoms.copy()
    element.symbols[0] = "Ni"
    strained = atoms.copy()
    strained.set_cell(atoms.cell * 1.001, scale_atoms=False)
    slab = atoms.copy()
    slab.pbc = [True, True, False]
    swapped = atoms.copy()
    swapped.symbols[0] = "Ni"
    swapped2 = atoms.copy()
    swapped2.symbols[1] = "Ni"
    hashes = {structure_hash(a) for a in (moved, element, strained, slab, swapped2)}
    assert h not in hashes and len(hashes) == 5
    assert structure_hash(swapped) == structure_hash(element)  # order-sensitive by design


def test_describe_structure():
    cu = describe_structure(bulk("Cu", "fcc", a=3.61, cubic=True))
    assert cu["formula"] == "Cu" and cu["formula_units"] == 4 and cu["n_atoms"] == 4
    assert cu["pbc"] == [True, True, True]
    assert np.allclose(cu["cell_lengths"], 3.61) and np.allclose(cu["cell_angles"], 90)
    assert cu["volume"] == pytest.approx(3.61**3)
    assert cu["density"] == pytest.approx(8.97, abs=0.01)  # g/cm³: 4 x 63.546 amu in 3.61³ Å³
    water = describe_structure(molecule("H2O"))
    assert water["formula"] == "H2O" and water["elements"] == ["H", "O"]
    assert water["cell_lengths"] is None and water["volume"] is None
    quartz = bulk("NaCl", "rocksalt", a=5.64)
    assert describe_structure(quartz)["formula"] == "NaCl"
    slab = bulk("Cu", "fcc", a=3.61, cubic=True)
    slab.pbc = [True, True, False]
    described = describe_structure(slab)
    assert described["cell_lengths"] is not None and described["volume"] is None
    for value in (cu, water, described):
        json.dumps(value, allow_nan=False)


def test_import_is_cheap():
    code = (
        "import sys, crystalwidgets.structures; "
        "print([m for m in ('pymatgen', 'scipy', 'ase.io', 'monty') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# -- bounded reads ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("big.xyz", "1000000000\nclaims a lot\nH 0 0 0\nH 0 0 0.74\n",
         "big.xyz' as XYZ (format='xyz'): line 1 says its frame has 1,000,000,000 atoms, but the 32 bytes"),
        ("two.xyz", "2\nfirst\nH 0 0 0\nH 0 0 0.74\n10000000\nsecond\nH 0 0 0\n",
         "line 5 says its frame has 10,000,000 atoms"),
        ("POSCAR", "x\n1.0\n3 0 0\n0 3 0\n0 0 3\nNa Cl\n1 1000000000\nDirect\n0 0 0\n0.5 0.5 0.5\n",
         "line 7 says the cell holds 1 + 1000000000 = 1,000,000,001 atoms"),
    ],
)
def test_a_count_the_file_cannot_hold_is_refused_at_once(tmp_path, name, text, message):
    import time

    path = tmp_path / name
    path.write_text(text)
    for source, kwargs in ((path, {}), (text.encode(), {"name": name})):  # a file and an upload
        start = time.monotonic()
        with pytest.raises(StructureError) as err:
            load_structure(source, **kwargs)
        assert time.monotonic() - start < 5  # ASE alone reads 10^9 empty lines (or allocates GBs)
        assert message in str(err.value)
        assert "use the complete file" in str(err.value)


def test_a_compressed_file_is_walked_to_its_end_not_to_its_claim(tmp_path):
    import gzip

    path = tmp_path / "big.xyz.gz"
    path.write_bytes(gzip.compress(b"1000000000\nc\nH 0 0 0\nH 0 0 0.74\n"))
    with pytest.raises(StructureError, match=r"line 1 says its frame has 1,000,000,000 atoms, but the file ends after 2 atom lines"):
        load_structure(path)


def test_honest_counts_still_read(tmp_path):
    from ase.io import write

    frames = [bulk("Cu", cubic=True) * (2, 2, 2), bulk("Al", cubic=True)]
    write(tmp_path / "frames.xyz", frames, format="extxyz")
    assert len(load_structure(tmp_path / "frames.xyz")) == 4
    assert len(load_structure(tmp_path / "frames.xyz", index=0)) == 32
    write(tmp_path / "POSCAR", frames[0], format="vasp")
    assert len(load_structure(tmp_path / "POSCAR")) == 32
