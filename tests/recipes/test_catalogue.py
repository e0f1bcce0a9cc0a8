"""The recipe catalogue against the real quacc: listing, specs, validation, availability."""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
import inspect
import json
import math
import pickle
import subprocess
import sys
import textwrap
import warnings
from typing import Literal, Optional, TypedDict

import numpy as np
import pytest

from crystalwidgets import CrystalWidgetsError
from crystalwidgets.errors import (
    RecipeUnavailableError,
    RecipeValidationError,
    UncheckedKwargsWarning,
    UnknownRecipeError,
)
from crystalwidgets.recipes.catalogue import RecipeCatalogue, recipes

# Walks quacc.recipes the slow, independent way: import every module and ask each
# function for the node type its quacc decorator closed over.
_WALK = """
import importlib, inspect, json, pkgutil, sys
import quacc.recipes
found, failed = {}, {}
for mod in pkgutil.walk_packages(quacc.recipes.__path__, "quacc.recipes."):
    try:
        module = importlib.import_module(mod.name)
    except Exception as exc:
        failed[mod.name] = f"{type(exc).__name__}: {exc}"
        continue
    for name, obj in vars(module).items():
        if name.startswith("_") or not inspect.isfunction(obj) or obj.__module__ != mod.name:
            continue
        node_type = inspect.getclosurevars(obj).nonlocals.get("node_type")
        if node_type is not None:
            found[f"{mod.name}.{name}"] = node_type.value
json.dump({"found": found, "failed": failed}, open(sys.argv[1], "w"))
"""


def _run(code: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("QUACC_")}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, env=env, check=True
    )


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    out = tmp_path_factory.mktemp("walk") / "walk.json"
    _run(_WALK, str(out))
    return json.loads(out.read_text())


# ---------------------------------------------------------------- listing


def test_every_recipe_is_listed_with_its_kind(imported):
    found, failed = imported["found"], imported["failed"]
    listed = {r.path: r.kind for r in recipes}
    importable = {path: kind for path, kind in listed.items() if path.rsplit(".", 1)[0] not in failed}
    assert importable == found
    # What only the source shows lives in modules that fail to import here.
    extra = set(listed) - set(found)
    assert extra and all(path.rsplit(".", 1)[0] in failed for path in extra)
    assert {"quacc.recipes.emt.defects", "quacc.recipes.common.defects"} <= set(failed)


def test_counts_match_the_measured_note(imported):
    if importlib.metadata.version("quacc") != "1.8.2":
        pytest.skip("the note was measured with quacc 1.8.2")
    kinds = list(imported["found"].values())
    assert (len(kinds), kinds.count("job"), kinds.count("flow"), kinds.count("subflow")) == (102, 80, 19, 3)


def test_names_paths_codes_and_listing():
    relax = recipes.resolve("emt.relax_job")
    assert relax.path == "quacc.recipes.emt.core.relax_job"
    assert (relax.module, relax.code, relax.kind) == ("quacc.recipes.emt.core", "emt", "job")
    assert relax.summary == "Carry out a geometry optimization."
    slabs = recipes.resolve("emt.slabs.bulk_to_slabs_flow")
    assert (slabs.path, slabs.kind) == ("quacc.recipes.emt.slabs.bulk_to_slabs_flow", "flow")
    assert slabs.summary.startswith("Workflow consisting of: 1. Slab generation")
    assert recipes.resolve("tblite.static_job").path == "quacc.recipes.tblite.core.static_job"
    assert recipes.resolve("vasp.relax_job").path == "quacc.recipes.vasp.core.relax_job"
    for alias in ("quacc.recipes.emt.core.relax_job", "emt.core.relax_job", " emt.relax_job "):
        assert recipes.resolve(alias) is relax
    assert recipes.resolve(relax) is relax
    assert "emt.relax_job" in recipes and "emt.relax_jbo" not in recipes

    everything = list(recipes)
    assert len(recipes) == len(everything) == len({r.name for r in everything})
    assert {"emt", "tblite", "vasp", "common"} <= set(recipes.codes())
    emt = recipes.list(code="emt")
    assert [r.name for r in emt[:2]] == ["emt.static_job", "emt.relax_job"]
    assert {r.kind for r in recipes.list(kind="subflow")} == {"subflow"}
    assert recipes.list(code="emt", kind="flow") == [r for r in emt if r.kind == "flow"]
    assert all(r.summary for r in everything)
    json.dumps(recipes.to_json(), allow_nan=False)


def test_unknown_names_name_the_closest():
    with pytest.raises(UnknownRecipeError, match="did you mean 'emt.relax_job'") as err:
        recipes.resolve("emt.relax_jbo")
    assert err.value.suggestions[0] == "emt.relax_job"
    assert isinstance(err.value, CrystalWidgetsError)
    with pytest.raises(UnknownRecipeError, match="'tblite.relax_job'"):
        recipes.resolve("relax_job")
    with pytest.raises(UnknownRecipeError, match="quacc.recipes.emt.core.relax_job"):
        recipes.resolve("quacc.recipes.emt.core.relax_jbo")
    with pytest.raises(UnknownRecipeError, match="'emt' is a code, not a recipe; recipes of emt: emt.static_job"):
        recipes.resolve("emt")
    with pytest.raises(UnknownRecipeError, match="'nosuchpkg.my_job' is not a recipe.*pass the function itself"):
        recipes.resolve("nosuchpkg.my_job")
    with pytest.raises(UnknownRecipeError, match="got int 3"):
        recipes.resolve(3)
    with pytest.raises(UnknownRecipeError, match="did you mean 'emt'"):
        recipes.list(code="emtt")
    with pytest.raises(UnknownRecipeError, match="'job', 'flow', 'subflow'"):
        recipes.list(kind="jobs")


def test_a_dotted_name_outside_the_catalogue_is_refused_and_never_imported():
    """'os.system' used to import os and build a form for system(command)."""
    code = """
import sys
from crystalwidgets import recipes, UnknownRecipeError
for name in ("os.system", "json.tool.main", "subprocess.run"):
    try:
        recipes.resolve(name)
    except UnknownRecipeError as exc:
        assert "is not a recipe" in str(exc) and exc.name == name, exc
    else:
        raise SystemExit(f"{name} resolved")
print(sorted(m for m in ("json.tool", "subprocess") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_resolving_imports_no_recipe_module():
    code = """
import sys, json
import crystalwidgets
info = crystalwidgets.recipes.resolve("emt.relax_job")
spec = info.spec.to_json()
n = len(crystalwidgets.recipes)
print(json.dumps({"n": n, "fields": [f["name"] for f in spec["fields"]],
                  "modules": sorted(m for m in sys.modules if m.startswith("quacc"))}))
"""
    out = json.loads(_run(code).stdout.strip().splitlines()[-1])
    assert out["n"] == len(recipes)
    assert out["fields"] == ["relax_cell", "opt_params", "copy_files", "additional_fields"]
    assert [m for m in out["modules"] if m.startswith("quacc.recipes")] == []


def test_a_missing_package_says_so():
    with pytest.raises(CrystalWidgetsError, match="cannot find the package nosuchpkg.recipes; install it"):
        len(RecipeCatalogue("nosuchpkg.recipes"))


# ---------------------------------------------------------------- specs


def _loadable():
    out = []
    for info in recipes:
        try:
            out.append((info, info.load()))
        except RecipeUnavailableError:
            continue
    return out


def test_specs_match_the_imported_signatures():
    compared = 0
    for info, func in _loadable():
        signature = inspect.signature(func)
        named = [p for p in signature.parameters.values() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        spec = info.spec
        assert [p.name for p in spec.params] == [p.name for p in named], info.name
        for mine, real in zip(spec.params, named):
            assert mine.kind == real.kind.name, (info.name, real.name)
            assert mine.required == (real.default is real.empty), (info.name, real.name)
            if not mine.required:
                assert mine.default == real.default, (info.name, real.name)
            assert mine.annotation == (real.annotation if real.annotation is not real.empty else "")
        var_kw = [p.name for p in signature.parameters.values() if p.kind is p.VAR_KEYWORD]
        assert spec.var_keyword == (var_kw[0] if var_kw else None), info.name
        compared += 1
    assert compared >= 90


def test_source_specs_equal_specs_of_the_live_functions():
    # A wrapped copy is not the catalogued object, so its spec is read from the
    # live signature and docstring: both routes must give the same types and help.
    names = [
        "emt.relax_job", "emt.md.md_job", "emt.slabs.bulk_to_slabs_flow", "tblite.static_job",
        "tblite.relax_job", "lj.freq_job", "vasp.relax_job", "vasp.slabs.bulk_to_slabs_flow",
        "espresso.phonons.grid_phonon_flow", "common.slabs.slab_to_ads_subflow", "gaussian.relax_job",
        "mlip.static_job",
    ]
    for name in names:
        info = recipes.resolve(name)
        func = info.load()
        copy = functools.wraps(func)(lambda *a, _f=func, **k: _f(*a, **k))
        live = recipes.resolve(copy)
        assert live is not info and live.name == info.name and live.kind == info.kind
        assert live.spec == info.spec, name


def test_parsed_types_and_help():
    spec = recipes.resolve("emt.relax_job").spec
    atoms, relax_cell, opt_params = spec.params[:3]
    assert atoms.is_structure and spec.structure is atoms and atoms not in spec.fields
    assert relax_cell.type.kind == "bool" and relax_cell.default is False and not relax_cell.required
    assert opt_params.optional and str(opt_params.type) == "OptParamsNoCell | None"
    fields = {f.name: f for f in opt_params.type.args[0].fields}
    assert fields["fmax"].type.kind == "union" and fields["max_steps"].type.kind == "int"
    assert spec.var_keyword == "calc_kwargs"
    assert "ase.calculators.emt.EMT calculator" in spec.var_keyword_help
    assert "refer to quacc.runners.ase.Runner.run_opt." in opt_params.help

    method = recipes.resolve("tblite.static_job").spec.params[1]
    assert method.choices == ("GFN1-xTB", "GFN2-xTB", "IPEA1-xTB") and method.default == "GFN2-xTB"
    copy_files = recipes.resolve("vasp.relax_job").spec.params[-2]
    assert str(copy_files.type) == "list[CopyFileSpec] | None"
    assert recipes.resolve("emt.slabs.bulk_to_slabs_flow").spec.var_keyword is None

    for info in recipes:
        doc = json.dumps(info.spec.to_json(), allow_nan=False)
        assert "][" not in doc and "](http" not in doc, info.name


def test_form_json():
    form = recipes.resolve("tblite.relax_job").spec.to_json()
    assert form["structure"] == "atoms" and form["var_keyword"] == "calc_kwargs"
    by_name = {f["name"]: f for f in form["fields"]}
    method = by_name["method"]
    assert method["choices"] == ["GFN1-xTB", "GFN2-xTB", "IPEA1-xTB"]
    assert (method["default"], method["required"], method["optional"]) == ("GFN2-xTB", False, False)
    opt = by_name["opt_params"]
    assert opt["optional"] and opt["type"]["kind"] == "union"
    typeddict = opt["type"]["args"][0]
    assert typeddict["kind"] == "typeddict" and "fmax" in {f["name"] for f in typeddict["fields"]}
    assert by_name["relax_cell"]["help"] == "Whether to relax the cell."
    required = recipes.resolve("gaussian.relax_job").spec.to_json()["fields"]
    assert [f["name"] for f in required if f["required"]] == ["charge", "spin_multiplicity"]


# ---------------------------------------------------------------- validation


def _problems(spec, kwargs) -> dict[str, str]:
    with pytest.raises(RecipeValidationError) as err:
        spec.validate(kwargs)
    assert isinstance(err.value, ValueError) and isinstance(err.value, CrystalWidgetsError)
    for field, message in err.value.problems:
        assert f"  - {field}: {message}" in str(err.value)
    return dict(err.value.problems)


def test_every_bad_field_is_named_with_its_fix():
    spec = recipes.resolve("emt.relax_job").spec
    problems = _problems(
        spec,
        {
            "relax_cell": "yes",
            "opt_params": {"fmax": float("nan"), "max_step": 10, "max_steps": 2.0},
            "atoms": None,
        },
    )
    assert problems == {
        "relax_cell": "expected bool, got str 'yes'; use True or False",
        "opt_params['fmax']": "nan is not a finite number; use a finite number such as 0.05",
        "opt_params['max_step']": "not a key of OptParamsNoCell; did you mean 'max_steps'?",
        "opt_params['max_steps']": "expected int, got float 2.0; use the whole number 2",
        "atoms": "this is the structure input; pass the structure separately, not as a parameter",
    }
    literal = _problems(recipes.resolve("tblite.static_job").spec, {"method": "gfn2-xtb"})
    assert literal == {"method": "'gfn2-xtb' is not one of 'GFN1-xTB', 'GFN2-xTB', 'IPEA1-xTB'; did you mean 'GFN2-xTB'?"}
    md = _problems(
        recipes.resolve("emt.md.md_job").spec,
        {"timestep_fs": math.inf, "temperature_K": "300", "steps": True, "dynamics": "nvtt"},
    )
    assert md["timestep_fs"].startswith("inf is not a finite number")
    assert md["temperature_K"] == "expected float or None, got str '300'; write the number without quotes, e.g. 300"
    assert md["steps"] == "expected int, got bool True; use a whole number such as 3"
    assert md["dynamics"].startswith("'nvtt' is not one of 'nve', 'nvt'") and md["dynamics"].endswith("did you mean 'nvt'?")
    flow = _problems(recipes.resolve("emt.slabs.bulk_to_slabs_flow").spec, {"run_statik": False, "job_params": {"x": 1}})
    assert flow == {
        "run_statik": "not a parameter of emt.slabs.bulk_to_slabs_flow; did you mean 'run_static'?",
        "job_params['x']": "expected dict[str, Any], got int 1; use a dict such as {'key': value}",
    }
    missing = _problems(recipes.resolve("gaussian.relax_job").spec, {})
    assert missing == {
        "charge": "required; give a whole number such as 3",
        "spin_multiplicity": "required; give a whole number such as 3",
    }
    err = pytest.raises(RecipeValidationError, spec.validate, {"relax_cell": 1}).value
    assert pickle.loads(pickle.dumps(err)).problems == err.problems


def test_clean_values_run_the_real_recipe(tmp_path, monkeypatch):
    from ase.build import bulk

    monkeypatch.chdir(tmp_path)  # quacc writes results into the cwd
    info = recipes.resolve("emt.relax_job")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kwargs = info.spec.validate(
            {"relax_cell": np.bool_(False), "opt_params": {"fmax": np.float32(0.25), "max_steps": np.int64(40)}}
        )
    assert kwargs == {"relax_cell": False, "opt_params": {"fmax": 0.25, "max_steps": 40}}
    assert type(kwargs["relax_cell"]) is bool and type(kwargs["opt_params"]["max_steps"]) is int
    assert type(recipes.resolve("emt.md.md_job").spec.validate({"timestep_fs": 1})["timestep_fs"]) is float
    atoms = bulk("Cu") * (2, 2, 2)
    atoms.rattle(0.05, seed=1)
    result = info.load()(atoms, **kwargs)
    assert result["converged"] and result["parameters_opt"]["fmax"] == 0.25


def test_unknown_kwargs_of_calc_kwargs_recipes_pass_unchecked():
    spec = recipes.resolve("emt.relax_job").spec
    given = {"relax_cell": True, "asap_cutoff": True, "relax_cel": 1}
    assert spec.unchecked(given) == ["asap_cutoff", "relax_cel"]
    with pytest.warns(UncheckedKwargsWarning, match=r"'asap_cutoff', 'relax_cel' are not parameters") as caught:
        assert spec.validate(given) == given
    message = str(caught[0].message)
    assert "unchecked to **calc_kwargs (the calculator)" in message and "'relax_cel' looks like 'relax_cell'" in message
    assert recipes.resolve("emt.slabs.bulk_to_slabs_flow").spec.unchecked({"x": 1}) == []
    assert _problems(spec, {"calc_kwargs": {"asap_cutoff": True}}) == {
        "calc_kwargs": "give the entries of **calc_kwargs as parameters of their own, not as one dict named calc_kwargs"
    }


# ---------------------------------------------------------------- availability


def test_available_recipes_and_the_reasons_of_the_others():
    relax = RecipeCatalogue().resolve("emt.relax_job")
    assert relax.to_json()["available"] is None  # not asked yet: nothing imported
    assert relax.available and relax.unavailable_reason is None
    assert relax.to_json()["available"] is True

    defects = recipes.resolve("emt.defects.bulk_to_defects_flow")
    assert not defects.available
    assert "NameError: name 'VacancyGenerator' is not defined" in defects.unavailable_reason
    assert "pip install quacc[defects]" in defects.unavailable_reason
    with pytest.raises(RecipeUnavailableError, match="VacancyGenerator"):
        defects.load()

    if importlib.util.find_spec("atomate2") is None:
        guarded = recipes.resolve("vasp.mp_legacy.mp_gga_relax_job")
        assert callable(guarded.load())  # importable, refused only when called
        assert not guarded.available
        assert guarded.unavailable_reason == "atomate2 is not installed. Run `pip install quacc[atomate2]`"
        assert guarded.to_json()["unavailable_reason"] == guarded.unavailable_reason
    if importlib.util.find_spec("torch_sim") is None:
        assert "missing Python module 'torch_sim'" in recipes.resolve("torchsim.static_job").unavailable_reason
    if importlib.util.find_spec("phonopy") is None:
        reason = recipes.resolve("emt.phonons.phonon_flow").unavailable_reason  # no guard of its own
        assert reason.startswith("it calls phonon_subflow, which needs: Phonopy must be installed")
    assert recipes.resolve("tblite.static_job").available


# ---------------------------------------------------------------- user functions


class _Extra(TypedDict, total=False):
    level: int
    mode: Literal["x", "y"]


def test_plain_functions_with_real_types():
    def scan_job(atoms, n, x=None, extra=None, *, tags=()):
        """Scan something."""

    # real typing objects, as in a module without ``from __future__ import annotations``
    scan_job.__annotations__ = {"n": int, "x": Optional[float], "extra": Optional[_Extra], "tags": list[str]}
    info = recipes.resolve(scan_job)
    assert (info.kind, info.code, info.summary, info.load()) == ("job", "custom", "Scan something.", scan_job)
    assert info.available and info.spec.structure.name == "atoms"
    assert [p.kind for p in info.spec.fields] == ["POSITIONAL_OR_KEYWORD"] * 3 + ["KEYWORD_ONLY"]
    problems = _problems(info.spec, {"x": np.float64("nan"), "extra": {"level": 1.5, "mode": "z"}, "tags": "ab"})
    assert problems == {
        "x": "nan is not a finite number; use a finite number such as 0.05",
        "extra['level']": "expected int, got float 1.5; use a whole number such as 3",
        "extra['mode']": "'z' is not one of 'x', 'y'",
        "tags": "expected list[str], got str 'ab'; use a list such as [...]",
        "n": "required; give a whole number such as 3",
    }
    assert info.spec.validate({"n": 2, "x": 1, "tags": ("a",)}) == {"n": 2, "x": 1.0, "tags": ["a"]}
    with pytest.raises(RecipeValidationError, match="did you mean 'extra'"):
        info.spec.validate({"n": 1, "extr": {}})  # no **kwargs: unknown names are errors


def test_a_users_quacc_job_module(tmp_path, monkeypatch):
    (tmp_path / "my_recipes.py").write_text(
        textwrap.dedent(
            '''
            from __future__ import annotations
            from typing import TYPE_CHECKING, Literal
            from quacc import flow, job
            if TYPE_CHECKING:
                from ase.atoms import Atoms
                from quacc.types import OptParams

            @job
            def my_relax(atoms: Atoms, speed: Literal["fast", "slow"] = "fast",
                         opt_params: OptParams | None = None, **calc_kwargs) -> dict:
                """Relax my way, see [the docs](https://example.org).

                Parameters
                ----------
                atoms
                    The structure.
                speed
                    See [quacc.recipes.emt.core.relax_job][].
                opt_params
                    Optimizer settings.
                """

            @flow
            def my_pipeline(atoms: Atoms):
                """Two steps."""
            '''
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("my_recipes")  # the user imports their module...
    info = recipes.resolve(module.my_relax)  # ...and passes the function: a name is never imported
    assert info.load() is module.my_relax and info.path == "my_recipes.my_relax"
    with pytest.raises(UnknownRecipeError, match="'my_recipes.my_relax' is not a recipe"):
        recipes.resolve("my_recipes.my_relax")
    assert (info.name, info.kind, info.code, info.summary) == ("my_relax", "job", "custom", "Relax my way, see the docs.")
    speed, opt = info.spec.fields
    assert speed.help == "See quacc.recipes.emt.core.relax_job." and speed.choices == ("fast", "slow")
    assert "relax_cell" in {f.name for f in opt.type.args[0].fields}  # OptParams read from quacc's source
    assert _problems(info.spec, {"opt_params": {"fmax": "0.1"}}) == {
        "opt_params['fmax']": "expected float or None, got str '0.1'; write the number without quotes, e.g. 0.1"
    }
    assert recipes.resolve(module.my_pipeline).kind == "flow"
