"""What a recipe can handle, checked before submit: EMT's elements, a cell where one is needed.

Each rule is held against the real recipe: what is refused really fails when it runs, what
is let through really runs.
"""

from __future__ import annotations

import warnings

import pytest
from ase.build import bulk, molecule
from ase.calculators.emt import parameters as emt_parameters

from crystalwidgets.recipes import recipes
from crystalwidgets.recipes.fit import emt_elements, structure_problems

NACL = bulk("NaCl", "rocksalt", a=5.64)


def _run(name, atoms, tmp_path, **kwargs):
    from quacc import change_settings

    with warnings.catch_warnings(), change_settings({"RESULTS_DIR": tmp_path}):
        warnings.simplefilter("ignore")
        return recipes.resolve(name).load()(atoms, **kwargs)


def _chain(exc: BaseException | None) -> str:
    """The text of an error and of every error it was raised from (quacc wraps them)."""
    parts = []
    while exc is not None:
        parts.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    return " <- ".join(parts)


def test_emt_elements_are_ases():
    assert emt_elements() == set(emt_parameters)
    assert structure_problems("emt.relax_job", bulk("Cu")) == []


def test_elements_emt_lacks_are_named_with_a_recipe_that_has_them(tmp_path):
    ((field, message),) = structure_problems("emt.relax_job", NACL)
    assert field == "structure"
    assert "ASE's EMT has no parameters for Cl, Na" in message
    assert "tblite.relax_job" in message and "tblite.relax_job" in recipes
    assert "Cu" in message  # what EMT does know
    with pytest.raises(Exception) as err:
        _run("emt.static_job", NACL, tmp_path)  # the rule is ASE's own
    assert "No EMT-potential for" in _chain(err.value)
    # a flow of EMT names no twin of its own that does not exist
    ((_, message),) = structure_problems("emt.slabs.bulk_to_slabs_flow", NACL)
    assert "tblite's or mlip's" in message


@pytest.mark.parametrize(
    "name", ["emt.elastic.elastic_tensor_flow", "emt.slabs.bulk_to_slabs_flow"]
)
def test_recipes_building_on_the_cell_refuse_a_structure_without_one(name, tmp_path):
    co = molecule("CO")
    ((field, message),) = structure_problems(name, co)
    assert field == "structure" and "needs a structure with a full unit cell" in message
    assert "has no cell" in message and "atoms.center(vacuum=6.0)" in message
    with pytest.raises(Exception) as err:
        _run(name, co, tmp_path)  # what the check spares the user
    assert "singular" in _chain(err.value).lower()
    boxed = molecule("CO", vacuum=5.0)  # the fix the message gives
    assert structure_problems(name, boxed) == []


def test_what_runs_is_not_refused(tmp_path):
    co = molecule("CO")
    # quacc relaxes the cell only of periodic structures: relax_cell on a molecule is no error
    assert structure_problems("emt.relax_job", co) == []
    assert _run("emt.relax_job", co, tmp_path, relax_cell=True)["atoms"] is not None
    assert structure_problems("tblite.static_job", NACL) == []
    assert structure_problems("scaled_volume_job", NACL, code="custom") == []
    half = bulk("Cu").copy()
    half.cell[2] = 0
    half.pbc = [True, True, False]
    assert "only 2 of the 3 cell vectors" in structure_problems("vasp.static_job", half)[0][1]
    assert "VASP computes in a periodic box" in structure_problems("vasp.static_job", co)[0][1]


def test_every_cell_rule_names_catalogued_recipes():
    import fnmatch

    from crystalwidgets.recipes.fit import CELL_CODES, NEEDS_CELL

    names = [r.name for r in recipes]
    for pattern in NEEDS_CELL:
        assert any(fnmatch.fnmatchcase(n, pattern) for n in names), pattern
    assert set(CELL_CODES) <= set(recipes.codes())
