"""Structure tools against ASE and pymatgen doing the same by hand; bad input named."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk, molecule

from crystalwidgets.errors import StructureError
from crystalwidgets.structures.transform import TOOLS, parse_tool_text, transform

NACL = bulk("NaCl", "rocksalt", a=5.64)


def test_supercell_diagonal_and_matrix():
    made, what = transform(NACL, "supercell", matrix=[2, 2, 2])
    assert len(made) == 16 and what == "supercell 2×2×2"
    assert np.isclose(made.get_volume(), 8 * NACL.get_volume())
    cubic, what = transform(NACL, "supercell", matrix=[[-1, 1, 1], [1, -1, 1], [1, 1, -1]])
    assert len(cubic) == 8 and np.allclose(cubic.cell.lengths(), 5.64) and "[[-1, 1, 1]" in what
    assert len(NACL) == 2  # the input is never changed


def test_substitute_vacancy_strain_rattle():
    kcl, what = transform(NACL, "substitute", old="Na", new="K")
    assert kcl.get_chemical_formula() == "ClK" and what == "Na→K (1 sites)"
    cubic = bulk("NaCl", "rocksalt", a=5.64, cubic=True)
    gone, what = transform(cubic, "vacancy", index=0)
    assert len(gone) == 7 and what == "vacancy at Na 0"
    strained, what = transform(NACL, "strain", percent=1.5)
    assert np.isclose(strained.get_volume(), NACL.get_volume() * 1.015**3) and what == "strained 1.5 %"
    aniso, _ = transform(cubic, "strain", percent=[1, 0, -2])
    assert np.allclose(aniso.cell.lengths(), [5.64 * 1.01, 5.64, 5.64 * 0.98])
    rattled, what = transform(cubic, "rattle", stdev=0.05, seed=3)
    expected = cubic.copy()
    expected.rattle(0.05, seed=3)
    assert np.allclose(rattled.positions, expected.positions) and "seed 3" in what


def test_primitive_and_conventional_agree_with_pymatgen():
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    cubic = bulk("NaCl", "rocksalt", a=5.64, cubic=True)
    prim, what = transform(cubic, "primitive")
    assert len(prim) == 2 and "Fm-3m" in what
    conv, _ = transform(prim, "conventional")
    want = SpacegroupAnalyzer(AseAtomsAdaptor.get_structure(prim)).get_conventional_standard_structure()
    assert len(conv) == len(want) == 8 and np.allclose(conv.cell.lengths(), want.lattice.abc)


@pytest.mark.parametrize(
    ("tool", "params", "message"),
    [
        ("twist", {}, "not a structure tool; use one of supercell"),
        ("supercell", {"matrix": [2, 0, 2]}, "determinant 0"),
        ("supercell", {"matrix": [1.5, 1, 1]}, "not three whole numbers"),
        ("substitute", {"old": "Xx", "new": "K"}, "old='Xx' is not an element symbol"),
        ("substitute", {"old": "Fe", "new": "K"}, "has no Fe; its elements are Cl, Na"),
        ("vacancy", {"index": 2}, "use 0 to 1"),
        ("strain", {"percent": -60}, "between -50 and 100"),
        ("rattle", {"stdev": 0}, "between 0 and 1"),
    ],
)
def test_bad_input_names_the_parameter_and_the_fix(tool, params, message):
    with pytest.raises(StructureError, match=message.replace("(", r"\(").replace("[", r"\[")):
        transform(NACL, tool, **params)


def test_molecules_take_no_copies_strain_or_symmetry():
    water = molecule("H2O")
    with pytest.raises(StructureError, match="not periodic along a"):
        transform(water, "supercell", matrix=[2, 1, 1])
    with pytest.raises(StructureError, match="no full cell"):
        transform(water, "strain", percent=1)
    with pytest.raises(StructureError, match="periodic along a, b and c"):
        transform(water, "primitive")
    assert len(transform(water, "substitute", old="O", new="S")[0]) == 3


def test_the_apps_text_field():
    assert parse_tool_text("supercell", "2 2 1") == {"matrix": [2, 2, 1]}
    assert parse_tool_text("supercell", "0 1 1, 1 0 1, 1 1 0")["matrix"][2] == [1, 1, 0]
    assert parse_tool_text("substitute", "Na -> K") == {"old": "Na", "new": "K"}
    assert parse_tool_text("substitute", "Na→K") == {"old": "Na", "new": "K"}
    assert parse_tool_text("strain", "1 1 -2") == {"percent": [1.0, 1.0, -2.0]}
    assert parse_tool_text("rattle", "0.05 42") == {"stdev": 0.05, "seed": 42}
    assert parse_tool_text("primitive", "") == {}
    for tool, (_what, example) in TOOLS.items():
        parse_tool_text(tool, example)  # every example shown in the App parses
    with pytest.raises(StructureError, match="vacancy: 'one' is not index"):
        parse_tool_text("vacancy", "one")
