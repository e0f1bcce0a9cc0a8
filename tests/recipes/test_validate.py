"""check_value: a TypeNode becomes a pydantic type; pydantic's errors become the project's messages."""

from __future__ import annotations

import json
import math
import types

import numpy as np
import pytest

from crystalwidgets.recipes.annotations import TypedField, TypeNode, parse_annotation
from crystalwidgets.recipes.validate import adapter, check_value, python_type


def _check(annotation: str, value):
    return check_value(parse_annotation(annotation), value, "f")


def _ok(annotation: str, value):
    cleaned, problems = _check(annotation, value)
    assert problems == [], problems
    return cleaned


def _bad(annotation: str, value) -> dict[str, str]:
    cleaned, problems = _check(annotation, value)
    assert problems and cleaned is value  # a refused value comes back as given
    return dict(problems)


_OPT = TypeNode(
    "typeddict",
    "Opt",
    fields=(
        TypedField("fmax", parse_annotation("float | None"), False),
        TypedField("max_steps", parse_annotation("int"), False),
        TypedField("optimizer", parse_annotation("str"), True),
    ),
)


def test_bools_are_not_numbers():
    assert _bad("int", True) == {"f": "expected int, got bool True; use a whole number such as 3"}
    assert _bad("float", False) == {"f": "expected float, got bool False; use a number such as 0.05"}
    assert _bad("float | None", np.bool_(True)) == {
        "f": "expected float or None, got bool True; use a number such as 0.05 or None"
    }
    assert _ok("bool", np.bool_(True)) is True


def test_ints_are_accepted_as_floats_and_cleaned_to_float():
    for value in (3, np.int64(3)):
        cleaned = _ok("float", value)
        assert cleaned == 3.0 and type(cleaned) is float
    assert type(_ok("float | None", 1)) is float
    assert type(_ok("float | int", 1)) is float  # the first member that fits, as annotated
    assert type(_ok("int | float", 1)) is int


def test_numbers_in_quotes_are_refused_with_the_fix():
    assert _bad("int", "3") == {"f": "expected int, got str '3'; write the number without quotes, e.g. 3"}
    assert _bad("float", " 0.1 ") == {"f": "expected float, got str ' 0.1 '; write the number without quotes, e.g. 0.1"}
    assert _bad("float", "inf") == {"f": "expected float, got str 'inf'; use a number such as 0.05"}
    assert _bad("float", "abc") == {"f": "expected float, got str 'abc'; use a number such as 0.05"}
    assert _bad("str", 3) == {"f": "expected str, got int 3; use a string in quotes"}


def test_whole_floats_for_ints_name_the_whole_number():
    assert _bad("int", 2.0) == {"f": "expected int, got float 2.0; use the whole number 2"}
    assert _bad("int", np.float64(4.0)) == {"f": "expected int, got float 4.0; use the whole number 4"}
    assert _bad("int", 2.5) == {"f": "expected int, got float 2.5; use a whole number such as 3"}


def test_nan_and_infinity_are_refused():
    finite = "is not a finite number; use a finite number such as 0.05"
    assert _bad("float", math.nan) == {"f": f"nan {finite}"}
    assert _bad("float | None", -math.inf) == {"f": f"-inf {finite}"}
    assert _bad("float", np.float32("inf")) == {"f": f"inf {finite}"}
    assert _bad("list[float]", [1.0, math.nan]) == {"f[1]": f"nan {finite}"}


def test_optional_accepts_none_and_only_none():
    assert _ok("float | None", None) is None
    assert _ok("Optional[int]", None) is None
    assert _bad("int", None) == {"f": "expected int, got NoneType None; use a whole number such as 3"}
    assert _ok("None", None) is None
    assert _bad("None", 0) == {"f": "expected None, got int 0; use None"}


def test_literals_match_exactly_and_suggest_the_closest():
    assert _ok("Literal['nve', 'nvt']", np.str_("nvt")) == "nvt"
    assert _bad("Literal['nve', 'nvt']", "nvtt") == {"f": "'nvtt' is not one of 'nve', 'nvt'; did you mean 'nvt'?"}
    assert _bad("Literal['GFN1-xTB', 'GFN2-xTB']", "gfn2-xtb") == {
        "f": "'gfn2-xtb' is not one of 'GFN1-xTB', 'GFN2-xTB'; did you mean 'GFN2-xTB'?"
    }
    assert _bad("Literal['a', 'b']", "zzz") == {"f": "'zzz' is not one of 'a', 'b'"}
    assert _bad("Literal[1, 2]", True) == {"f": "True is not one of 1, 2"}  # not the number 1
    assert _bad("Literal[1, 2]", 1.0) == {"f": "1.0 is not one of 1, 2"}
    assert _bad("Literal[True, 'x']", 1) == {"f": "1 is not one of True, 'x'"}
    assert _ok("Literal[True, 'x']", True) is True and _ok("Literal[1, 2]", np.int64(2)) == 2
    assert _bad("Literal['nve', 'nvt'] | None", "x") == {"f": "'x' is not one of 'nve', 'nvt', None"}
    assert _bad("Literal['auto'] | float", "aut") == {
        "f": "'aut' is not one of 'auto' (or float); did you mean 'auto'?"
    }
    assert _ok("Literal['auto'] | float", 2) == 2.0


def test_typeddict_keys_unknown_missing_and_nested():
    assert check_value(_OPT, {"optimizer": "BFGS", "fmax": 1}, "opt") == ({"optimizer": "BFGS", "fmax": 1.0}, [])
    _, problems = check_value(_OPT, {"max_step": 10, "fmax": "0.1", "zzz": 1}, "opt")
    assert problems == [
        ("opt['max_step']", "not a key of Opt; did you mean 'max_steps'?"),
        ("opt['fmax']", "expected float or None, got str '0.1'; write the number without quotes, e.g. 0.1"),
        ("opt['zzz']", "not a key of Opt; valid keys: fmax, max_steps, optimizer"),
        ("opt['optimizer']", "required key of Opt; give a string in quotes"),
    ]
    only_unknown = {"optimizer": "BFGS", "fmaxx": 0.1}  # all else valid: the unknown key alone refuses it
    assert check_value(_OPT, only_unknown, "opt") == (
        only_unknown,
        [("opt['fmaxx']", "not a key of Opt; did you mean 'fmax'?")],
    )
    optional = TypeNode("union", args=(_OPT, TypeNode("none", "None")))
    assert check_value(optional, None, "opt") == (None, [])
    assert dict(check_value(optional, {"optimizer": "FIRE", "max_steps": 2.0}, "opt")[1]) == {
        "opt['max_steps']": "expected int, got float 2.0; use the whole number 2"
    }
    assert dict(check_value(optional, 5, "opt")[1]) == {
        "opt": "expected a dict (Opt) or None, got int 5; use a dict with keys from 'fmax', 'max_steps', 'optimizer' or None"
    }
    assert check_value(_OPT, types.MappingProxyType({"optimizer": "x"}), "opt") == ({"optimizer": "x"}, [])


def test_nested_lists_and_dicts_name_the_path():
    assert _bad("list[dict[str, float]]", [{"a": 1}, {"b": "x", "c": True}]) == {
        "f[1]['b']": "expected float, got str 'x'; use a number such as 0.05",
        "f[1]['c']": "expected float, got bool True; use a number such as 0.05",
    }
    assert _bad("dict[str, list[int]] | None", {"k": [1, 2.5]}) == {
        "f['k'][1]": "expected int, got float 2.5; use a whole number such as 3"
    }
    assert _bad("dict[str, int]", {1: "x"}) == {
        "f[1] (key)": "expected str, got int 1; use a string in quotes",
        "f[1]": "expected int, got str 'x'; use a whole number such as 3",
    }
    assert _bad("dict[str, Any]", [("a", 1)]) == {
        "f": "expected dict[str, Any], got list [('a', 1)]; use a dict such as {'key': value}"
    }
    assert _bad("list[str]", "ab") == {"f": "expected list[str], got str 'ab'; use a list such as [...]"}
    assert _bad("list[int]", {1, 2}) == {"f": "expected list[int], got set {1, 2}; use a list such as [...]"}


def test_tuples_and_lists_convert_into_each_other():
    assert _ok("list[str]", ("a",)) == ["a"]
    assert _ok("tuple[int, float]", [1, 2]) == (1, 2.0)
    assert _ok("tuple[float, ...]", np.array([1, 2])) == (1.0, 2.0)
    assert _ok("list[float]", np.array([0.5])) == [0.5]
    length = "expected 3 items (tuple[int, int, int]), got {}; use a tuple or list of 3 items"
    assert _bad("tuple[int, int, int]", [1, 1]) == {"f": length.format(2)}
    assert _bad("tuple[int, int, int] | None", (1, 1, 1, 1)) == {"f": length.format(4)}
    assert _bad("tuple[int, ...]", (1, "2")) == {
        "f[1]": "expected int, got str '2'; write the number without quotes, e.g. 2"
    }
    assert _bad("tuple[int, int]", 3) == {"f": "expected tuple[int, int], got int 3; use a tuple or list of 2 items"}


def test_cleaned_values_are_plain_python():
    cleaned = _ok(
        "dict[str, Any]",
        {"a": np.float64(0.5), "b": np.int64(2), "c": np.bool_(False)},
    )
    assert [type(v) for v in cleaned.values()] == [float, int, bool]
    nested = _ok("list[tuple[int, float]]", [np.array([1, 2])])
    assert nested == [(1, 2.0)] and type(nested[0][0]) is int
    json.dumps(nested, allow_nan=False)


def test_unchecked_kinds_pass_the_value_itself():
    thing = object()
    for annotation in ("Atoms", "Any"):
        assert _ok(annotation, thing) is thing
    assert _ok("type[Atoms]", int) is int
    assert _bad("type[Atoms]", "int") == {
        "f": "expected type[Atoms], got str 'int'; use a class (the class itself, not its name)"
    }
    assert _ok("Callable[..., Any]", len) is len
    assert _bad("Callable", 3) == {"f": "expected Callable, got int 3; use a function"}


def test_one_adapter_per_node():
    node = parse_annotation("dict[str, float] | None")
    assert adapter(node) is adapter(parse_annotation("dict[str, float] | None"))
    assert python_type(_OPT) is python_type(_OPT)
    assert adapter(node).validate_python({"a": 1}, strict=True) == {"a": 1.0}


@pytest.mark.parametrize("bad", ["1", True, None, math.nan, [1]])
def test_strict_float_refuses(bad):
    assert _check("float", bad)[1]


def test_bounded_numbers_say_the_limit():
    at_most = TypeNode("float", "float", bounds=(("le", 1.5),))
    assert check_value(at_most, 1.5, "f") == (1.5, [])
    assert check_value(at_most, 2, "f") == (2, [("f", "2 is too large; use a number of at most 1.5")])
    below = TypeNode("int", "int", bounds=(("lt", 10), ("ge", 0)))
    assert check_value(below, 10, "f")[1] == [("f", "10 is too large; use a whole number less than 10")]
    assert check_value(below, -1, "f")[1] == [("f", "-1 is too small; use a whole number of at least 0")]
    assert check_value(below, np.int64(0), "f") == (0, [])
    assert check_value(below, 2.0, "f")[1] == [("f", "expected int, got float 2.0; use the whole number 2")]
    assert below.to_json() == {"kind": "int", "name": "int", "bounds": {"lt": 10, "ge": 0}}


def test_quaccs_opt_params_have_physical_bounds():
    from crystalwidgets.errors import RecipeValidationError
    from crystalwidgets.recipes.catalogue import recipes

    spec = recipes.resolve("emt.relax_job").spec
    with pytest.raises(RecipeValidationError) as err:
        spec.validate({"opt_params": {"fmax": -0.1, "max_steps": -5}})
    assert dict(err.value.problems) == {
        "opt_params['fmax']": "-0.1 is too small; use a number greater than 0",
        "opt_params['max_steps']": "-5 is too small; use a whole number of at least 1",
    }
    with pytest.raises(RecipeValidationError, match="0 is too small"):
        spec.validate({"opt_params": {"fmax": 0}})
    assert spec.validate({"opt_params": {"fmax": None, "max_steps": 1}}) == {
        "opt_params": {"fmax": None, "max_steps": 1}
    }
    opt = next(f for f in spec.to_json()["fields"] if f["name"] == "opt_params")  # what the form shows
    keys = {f["name"]: f["type"] for f in opt["type"]["args"][0]["fields"]}
    assert keys["fmax"]["args"][0]["bounds"] == {"gt": 0} and keys["max_steps"]["bounds"] == {"ge": 1}
    assert "bounds" not in keys["optimizer_kwargs"]
    with_cell = next(p for p in recipes.resolve("vasp.ase_relax_job").spec.params if p.name == "opt_params")
    assert str(with_cell.type) == "OptParams | None"  # the TypedDict that adds relax_cell: bounded too
    assert check_value(with_cell.type, {"max_steps": 0, "relax_cell": True}, "opt_params")[1] == [
        ("opt_params['max_steps']", "0 is too small; use a whole number of at least 1")
    ]


def test_free_data_must_be_storable_and_is_refused_naming_where():
    """object() inside additional_fields was stored as its repr; 5,000 levels raised RecursionError."""
    from ase.optimize import BFGS

    from crystalwidgets import recipes
    from crystalwidgets.errors import RecipeValidationError

    spec = recipes.resolve("emt.relax_job").spec
    with pytest.raises(RecipeValidationError) as err:
        spec.validate({"additional_fields": {"a": [1, {"b": object()}]}})
    assert err.value.problems == [(
        "additional_fields['a'][1]['b']",
        "holds a builtins.object, which cannot be stored with the job; use numbers, strings, lists and dicts",
    )]
    deep: dict = {}
    for _ in range(5000):
        deep = {"d": deep}
    with pytest.raises(RecipeValidationError) as err:
        spec.validate({"additional_fields": deep})
    [(field, message)] = err.value.problems
    assert field == "additional_fields" and "nested" in message
    # what annotations ask for travels as it is: an optimizer class, plain data
    assert spec.validate({"opt_params": {"optimizer": BFGS}})["opt_params"]["optimizer"] is BFGS
    assert spec.validate({"additional_fields": {"ok": [1, 2.5, "x", None, {"n": True}]}})
