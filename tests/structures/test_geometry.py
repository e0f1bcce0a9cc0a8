"""The viewer's geometry and crystal summary, against ASE, spglib and pymatgen."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.spacegroup import crystal

from crystalwidgets.structures.geometry import boundary_images, measure, periodic_bonds
from crystalwidgets.structures.symmetry import SPACEGROUP_MAX_ATOMS, crystal_summary


def cristobalite() -> Atoms:
    """alpha-cristobalite SiO2, P4_12_12 (92), Si on 4a at z = 0 (cell faces)."""
    return crystal(
        ["Si", "O"],
        basis=[(0.3003, 0.3003, 0.0), (0.2392, 0.1044, 0.1787)],
        spacegroup=92,
        cellpar=[4.978, 4.978, 6.948, 90, 90, 90],
    )


def test_nacl_cube_has_27_atoms_with_its_images():
    nacl = bulk("NaCl", "rocksalt", a=5.64, cubic=True)
    images = boundary_images(nacl)
    assert len(nacl) + len(images) == 27
    drawn = np.vstack([nacl.positions, nacl.positions[images[:, 0]] + images[:, 1:] @ nacl.cell.array])
    frac = np.round(drawn / 5.64 * 2).astype(int)  # every point of the 3x3x3 half-cell grid
    assert sorted(map(tuple, frac)) == sorted(
        (i, j, k) for i in range(3) for j in range(3) for k in range(3)
    )
    symbols = [nacl[i].symbol for i in range(len(nacl))] + [nacl[i].symbol for i in images[:, 0]]
    assert symbols.count("Na") == 14 and symbols.count("Cl") == 13  # 8 corners + 6 faces


def test_no_images_for_molecules_or_inner_atoms():
    assert len(boundary_images(molecule("H2O"))) == 0
    atoms = bulk("Cu", cubic=True)
    atoms.positions += 0.5  # nothing on a face any more
    assert len(boundary_images(atoms)) == 0


def test_bonds_across_the_boundary_match_an_explicit_supercell():
    """Every Si of cristobalite has 4 O neighbours and every O 2 Si, counted with the bonds
    that cross the cell boundary: the same as in a 3x3x3 supercell's middle cell."""
    atoms = cristobalite()
    bonds = periodic_bonds(atoms)
    degree = np.bincount(np.concatenate([bonds[:, 0], bonds[:, 1]]), minlength=len(atoms))
    for index, atom in enumerate(atoms):
        assert degree[index] == (4 if atom.symbol == "Si" else 2), (index, atom.symbol)
    assert (np.abs(bonds[:, 2:]) > 0).any(), "no bond crosses the boundary"
    for i, j, *shift in bonds:
        distance = np.linalg.norm(atoms.positions[j] + np.array(shift) @ atoms.cell.array - atoms.positions[i])
        assert 1.5 < distance < 1.7  # Si-O
    # each bond once: no (j, i, -shift) twin
    keys = {(i, j, *s) for i, j, *s in bonds.tolist()}
    assert not any((j, i, *(-np.array(s))) in keys for i, j, *s in bonds.tolist() if i != j)


def test_bonds_to_own_image_in_a_one_atom_cell():
    bonds = periodic_bonds(bulk("Cu"))  # fcc primitive: 12 neighbours, all images of atom 0
    assert len(bonds) == 6 and (bonds[:, :2] == 0).all()


@pytest.mark.parametrize("indices", [[0, 1], [0, 5], [1, 2, 3], [3, 0, 7], [0, 1, 2, 3]])
def test_measure_matches_ase_mic(indices):
    atoms = cristobalite()
    atoms.rattle(0.05, seed=1)
    result = measure(atoms, indices)
    expected = {
        2: lambda: atoms.get_distance(*indices, mic=True),
        3: lambda: atoms.get_angle(*indices, mic=True),
        4: lambda: atoms.get_dihedral(*indices, mic=True),
    }[len(indices)]()
    assert result["value"] == pytest.approx(expected)
    assert result["kind"] == {2: "distance", 3: "angle", 4: "dihedral"}[len(indices)]
    assert result["indices"] == indices
    assert f"#{indices[0]} {atoms[indices[0]].symbol}" in result["text"]


def test_measure_takes_the_nearest_image():
    atoms = Atoms("H2", positions=[[0.1, 0, 0], [9.9, 0, 0]], cell=[10, 10, 10], pbc=True)
    assert measure(atoms, [0, 1])["value"] == pytest.approx(0.2)
    atoms.pbc = False
    assert measure(atoms, [0, 1])["value"] == pytest.approx(9.8)
    assert measure(atoms, [0]) is None and measure(atoms, []) is None and measure(None, [0, 1]) is None


@pytest.mark.parametrize(
    "atoms",
    [
        bulk("NaCl", "rocksalt", a=5.64, cubic=True),
        bulk("Cu"),
        bulk("Si", "diamond", a=5.43),
        bulk("Mg", "hcp", a=3.2, c=5.2),
        cristobalite(),
    ],
    ids=["NaCl", "Cu", "Si", "Mg", "SiO2"],
)
def test_summary_against_pymatgen(atoms):
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    structure = AseAtomsAdaptor.get_structure(atoms)
    summary = crystal_summary(atoms)
    lattice = summary["lattice"]
    assert [lattice[k] for k in ("a", "b", "c")] == pytest.approx(list(structure.lattice.abc), abs=1e-5)
    assert [lattice[k] for k in ("alpha", "beta", "gamma")] == pytest.approx(
        list(structure.lattice.angles), abs=1e-3
    )
    assert lattice["volume"] == pytest.approx(structure.volume, abs=1e-3)
    analyzer = SpacegroupAnalyzer(structure, symprec=1e-3)
    assert summary["space_group"] == {
        "symbol": analyzer.get_space_group_symbol(),
        "number": analyzer.get_space_group_number(),
    }
    assert summary["formula"] == structure.composition.reduced_formula
    counts = structure.composition.as_dict()
    assert {e["symbol"]: e["count"] for e in summary["elements"]} == {k: int(v) for k, v in counts.items()}


def test_summary_without_space_group():
    water = crystal_summary(molecule("H2O"))
    assert water["lattice"] is None and water["space_group"] is None
    assert "not periodic" in water["space_group_note"]
    big = crystal_summary(bulk("Cu", cubic=True).repeat((6, 6, 6)))
    assert big["n_atoms"] > SPACEGROUP_MAX_ATOMS and big["space_group"] is None
    assert str(SPACEGROUP_MAX_ATOMS) in big["space_group_note"]
    assert crystal_summary(None) == {}


def test_bonds_of_a_big_cluster_without_a_cell_stay_small_and_quick():
    """20,000 atoms, no cell (a pasted cluster): ASE's neighbour list took over 10 GB on
    this; the k-d tree finds the 57,600 bonds of the grid in well under a second."""
    import time

    import numpy as np
    import psutil
    from ase import Atoms
    from ase.build import molecule

    from crystalwidgets.structures.geometry import periodic_bonds

    grid = np.stack(np.meshgrid(np.arange(20), np.arange(20), np.arange(50), indexing="ij"), -1)
    cluster = Atoms(f"C{grid.size // 3}", positions=grid.reshape(-1, 3) * 1.5)
    rss = psutil.Process().memory_info().rss
    t0 = time.perf_counter()
    bonds = periodic_bonds(cluster)
    assert time.perf_counter() - t0 < 10
    assert (psutil.Process().memory_info().rss - rss) / 2**20 < 500
    assert len(bonds) == 19 * 20 * 50 + 20 * 19 * 50 + 20 * 20 * 49  # nearest neighbours only
    assert (bonds[:, 2:] == 0).all() and (bonds[:, 0] < bonds[:, 1]).all()
    benzene = molecule("C6H6")  # the same bonds as with a cell and ASE's list
    boxed = benzene.copy()
    boxed.center(vacuum=10)
    boxed.pbc = True
    assert sorted(periodic_bonds(benzene)[:, :2].tolist()) == sorted(periodic_bonds(boxed)[:, :2].tolist())
