"""INCAR tags the user typed that VASP does not know, as a pure function.

ASE writes every unknown keyword of ``calc_kwargs`` into the INCAR as it is, and VASP
ignores a tag it does not know without a word: ``encutt=500`` runs at the default
cutoff. The tags pymatgen knows (``Incar.INCAR_PARAMS``) are the reference. Only the
user's own keywords are judged: quacc's presets are its maintainers' choice (and some
of their tags, such as EFERMI of VASP 6.4, are newer than pymatgen's list).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Collection, Iterable

__all__ = ["known_incar_tags", "unknown_incar_tags"]

Problems = list[tuple[str, str]]


@functools.lru_cache(maxsize=1)
def known_incar_tags() -> frozenset[str]:
    """The INCAR tags pymatgen knows (upper case)."""
    from pymatgen.io.vasp.inputs import Incar

    return frozenset(tag.upper() for tag in Incar.INCAR_PARAMS)


def unknown_incar_tags(
    user_keys: Iterable[str], written: Collection[str], known: Collection[str], var: str = "calc_kwargs"
) -> Problems:
    """The user's keywords that go into the INCAR as tags VASP does not know.

    Parameters
    ----------
    user_keys
        The keywords the user gave to the recipe's ``**calc_kwargs``.
    written
        The tags the calculator will write into the INCAR (upper case).
    known
        The valid INCAR tags (upper case), e.g. :func:`known_incar_tags`.
    var
        The name of the recipe's ``**kwargs`` parameter, for the field.

    Returns
    -------
    list of (field, message)
        One per unknown tag, with the closest valid tag when there is one.
    """
    problems = []
    for key in user_keys:
        tag = key.upper()
        if tag not in written or tag in known:
            continue
        close = difflib.get_close_matches(tag, sorted(known), n=1, cutoff=0.75)
        fix = f"did you mean {close[0].lower()}? Fix the name" if close else "fix the name"
        problems.append(
            (
                f"{var}[{key!r}]",
                f"{tag} is not an INCAR tag VASP knows (pymatgen's list of INCAR tags has no {tag}); "
                f"ASE would write it into the INCAR and VASP would ignore it without a word: {fix}, "
                "or remove it",
            )
        )
    return problems
