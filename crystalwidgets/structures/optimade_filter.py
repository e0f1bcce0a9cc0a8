"""OPTIMADE filter strings from a search's simple fields (elements, formula, number of elements)
and, for experts, a raw filter, each checked before anything is sent.

Every bad field raises :class:`~crystalwidgets.errors.OptimadeError` naming the field and the
fix; a raw filter is checked with optimade-python-tools' own filter grammar.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from ase.data import chemical_symbols

from ..errors import OptimadeError

__all__ = ["build_filter", "parse_elements", "reduced_formula_filter"]

_SYMBOLS = frozenset(chemical_symbols[1:])  # chemical_symbols[0] is "X", no element
_FORMULA_PART = re.compile(r"([A-Z][a-z]?)(\d*)")
#: A raw filter longer than this is refused (a provider's URL limit is near 8,000 characters).
MAX_FILTER_CHARS = 4000


def parse_elements(elements: str | Iterable[str] | None) -> list[str]:
    """The element symbols of ``elements`` ("Si O", "Si, O" or a list), checked, in order given.

    Raises
    ------
    OptimadeError
        ``field="elements"`` for anything that is not a chemical symbol.
    """
    if elements is None:
        return []
    items = re.split(r"[\s,;]+", elements) if isinstance(elements, str) else list(elements)
    found: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise OptimadeError(f"elements: {item!r} is not a chemical symbol: give symbols such as 'Si O'", "elements")
        symbol = item.strip()
        if not symbol:
            continue
        if symbol not in _SYMBOLS:
            hint = symbol[:1].upper() + symbol[1:].lower()
            fix = f"did you mean {hint!r}?" if hint in _SYMBOLS else "give symbols such as 'Si O' (capitalised as in the periodic table)"
            raise OptimadeError(f"elements: {symbol!r} is not a chemical symbol: {fix}", "elements")
        if symbol not in found:
            found.append(symbol)
    return found


def reduced_formula_filter(formula: str) -> str:
    """``formula`` ("SiO2", "O2Si", "Na2Cl2") as OPTIMADE's ``chemical_formula_reduced``: elements
    in alphabetical order, counts divided by their greatest common divisor, no 1s ("O2Si").

    Raises
    ------
    OptimadeError
        ``field="formula"`` when the text is not a formula of element symbols and counts.
    """
    text = formula.strip().replace(" ", "")
    parts = _FORMULA_PART.findall(text)
    if not text or "".join(symbol + count for symbol, count in parts) != text:
        raise OptimadeError(
            f"formula: {formula!r} is not a formula of element symbols and counts: write it as "
            "e.g. 'SiO2' or 'NaCl' (no brackets, charges or spaces)",
            "formula",
        )
    counts: dict[str, int] = {}
    for symbol, count in parts:
        if symbol not in _SYMBOLS:
            raise OptimadeError(f"formula: {symbol!r} in {formula!r} is not a chemical symbol: check it", "formula")
        n = int(count) if count else 1
        if n == 0:
            raise OptimadeError(f"formula: {symbol}0 in {formula!r} has no atoms: leave {symbol} out", "formula")
        counts[symbol] = counts.get(symbol, 0) + n
    divisor = math.gcd(*counts.values())
    return "".join(f"{s}{n // divisor if n // divisor > 1 else ''}" for s, n in sorted(counts.items()))


def _check_raw(raw: str) -> str:
    text = raw.strip()
    if len(text) > MAX_FILTER_CHARS:
        raise OptimadeError(
            f"filter: {len(text):,} characters is too long (at most {MAX_FILTER_CHARS:,}): split the search", "filter"
        )
    from optimade.exceptions import BadRequest
    from optimade.filterparser import LarkParser

    try:
        LarkParser().parse(text)
    except BadRequest as exc:
        detail = " ".join(str(exc.detail).split("Lark traceback:")[-1].split())
        raise OptimadeError(
            f"filter: {text!r} is not an OPTIMADE filter ({detail[:300]}): check its quotes and "
            'operators, e.g. elements HAS ALL "Si","O" AND nsites<=8',
            "filter",
        ) from None
    return text


def build_filter(
    elements: str | Iterable[str] | None = None,
    formula: str | None = None,
    nelements: int | str | None = None,
    filter: str | None = None,  # noqa: A002 - OPTIMADE's name for it
) -> str:
    """The OPTIMADE filter of a search: every given field must hold (joined with AND).

    Parameters
    ----------
    elements : str or list of str, optional
        Structures that contain all of these elements (and maybe others): "Si O" or ["Si", "O"].
    formula : str, optional
        Structures of this reduced formula ("SiO2" matches "Si2O4" too; the order of the
        elements does not matter).
    nelements : int, optional
        Structures of exactly this many distinct elements (1 to 118).
    filter : str, optional
        A raw OPTIMADE filter, e.g. ``nsites<=8 AND elements HAS "Fe"``, checked with the
        OPTIMADE filter grammar.

    Returns
    -------
    str
        The filter, e.g. ``elements HAS ALL "O","Si" AND nelements=2``.

    Raises
    ------
    OptimadeError
        For a bad field (its name is ``.field``), or when no field is given.
    """
    clauses = []
    symbols = parse_elements(elements)
    if symbols:
        clauses.append("elements HAS ALL " + ",".join(f'"{s}"' for s in symbols))
    if formula is not None and str(formula).strip():
        clauses.append(f'chemical_formula_reduced="{reduced_formula_filter(str(formula))}"')
    if nelements is not None and str(nelements).strip():
        try:
            n = int(str(nelements).strip())
        except ValueError:
            n = 0
        if not 1 <= n <= len(_SYMBOLS):
            raise OptimadeError(f"nelements: {nelements!r} is not a whole number from 1 to 118: give e.g. 2", "nelements")
        if symbols and n < len(symbols):
            raise OptimadeError(
                f"nelements: {n} is fewer than the {len(symbols)} elements asked for ({' '.join(symbols)}): "
                "raise nelements or drop elements",
                "nelements",
            )
        clauses.append(f"nelements={n}")
    if filter is not None and filter.strip():
        clauses.append(f"({_check_raw(filter)})" if clauses else _check_raw(filter))
    if not clauses:
        raise OptimadeError(
            "elements: nothing to search for: give elements, a formula, a number of elements or a filter",
            "elements",
        )
    return " AND ".join(clauses)
