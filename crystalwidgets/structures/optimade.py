"""Search an OPTIMADE provider (Materials Project, OQMD, COD, a centre's own) for structures.

:func:`search` builds the filter (:mod:`.optimade_filter`), asks the provider's
``/v1/structures`` for one page of entries and turns each into an :class:`OptimadeHit`: with
the ``ase.Atoms`` (optimade-python-tools' ASE adapter, then the checks every structure goes
through, :func:`~crystalwidgets.structures.load_structure`), or, for entries that cannot be
one (partial occupancy, unknown positions, overlapping atoms), the reason.

Every wait is bounded: the whole query, from the name look-up to the last byte, gets
``timeout`` seconds, and a provider that cannot be reached, accepts and never answers, or
sends more than :data:`MAX_RESPONSE_BYTES` gives an :class:`~crystalwidgets.errors.OptimadeError`
within that bound. What a provider sends is untrusted: it is data, shown as text.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ase import Atoms

from ..errors import CrystalWidgetsError, OptimadeError
from .formula import describe_structure
from .io import load_structure
from .optimade_convert import entry_to_atoms
from .optimade_filter import build_filter
from .optimade_http import MAX_RESPONSE_BYTES, NotFound, get_json

__all__ = ["MAX_RESPONSE_BYTES", "OptimadeHit", "OptimadeResults", "providers", "resolve_provider", "search"]

_MAX_PAGE = 100
#: The OPTIMADE major version this client speaks (its ``/v1`` endpoints).
SPOKEN = "1"
_MAX_TIMEOUT = 300.0


def providers() -> dict[str, str]:
    """Known providers by short name ("mp", "oqmd", "cod", ...) and their base URLs: pymatgen's
    ``OptimadeRester.aliases``."""
    from pymatgen.ext.optimade import OptimadeRester

    return dict(sorted(OptimadeRester.aliases.items()))


def resolve_provider(provider: str) -> tuple[str, str]:
    """``(label, base_url)`` of a provider's short name (see :func:`providers`) or base URL.

    Raises
    ------
    OptimadeError
        ``field="provider"`` for a name that is not known and not an ``http(s)://`` URL.
    """
    text = str(provider or "").strip()
    known = providers()
    if text in known:
        return text, known[text].rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        names = ", ".join(list(known)[:8])
        raise OptimadeError(
            f"provider: {text!r} is neither a known provider ({names}, ...) nor a base URL: give one of "
            "those names or the provider's base URL, e.g. https://optimade.materialsproject.org",
            "provider",
        )
    if parts.query or parts.fragment:
        raise OptimadeError(f"provider: {text!r} has a query part: give the base URL alone (no ?...)", "provider")
    base = text.rstrip("/")
    base = re.sub(r"/v1(/structures)?$", "", base)
    for name, url in known.items():
        if url.rstrip("/") == base:
            return name, base
    return parts.netloc, base


@dataclass(frozen=True)
class OptimadeHit:
    """One structure entry of a provider.

    Attributes
    ----------
    provider : str
        The provider's short name or host (``"mp"``, ``"127.0.0.1:5000"``).
    id : str
        The entry's id at the provider.
    formula : str
        Its reduced formula (pymatgen's spelling when it became a structure, else the provider's).
    nsites : int or None
        Number of sites.
    space_group : str or None
        Hermann-Mauguin symbol or international number, when the provider gives one.
    atoms : ase.Atoms or None
        The structure, checked as an upload would be; None when it cannot be one.
    reason : str or None
        Why there is no structure (partial occupancy, unknown positions, ...), else None.
    """

    provider: str
    id: str
    formula: str
    nsites: int | None
    space_group: str | None
    atoms: Atoms | None = field(default=None, repr=False, compare=False)
    reason: str | None = None

    @property
    def loadable(self) -> bool:
        """Whether the entry became a structure."""
        return self.atoms is not None

    @property
    def name(self) -> str:
        """The name it gets when loaded: "NaCl (optimade: mp mp-22862)"."""
        return f"{self.formula} (optimade: {self.provider} {self.id})"


@dataclass(frozen=True)
class OptimadeResults:
    """One page of a search's hits.

    Attributes
    ----------
    hits : list of OptimadeHit
    filter : str
        The OPTIMADE filter sent.
    provider, base_url : str
        Who was asked.
    total : int or None
        How many entries match in all, when the provider says.
    more : bool
        Whether more entries match than :attr:`hits` holds (narrow the search, or raise
        ``page_limit``).
    """

    hits: list[OptimadeHit]
    filter: str
    provider: str
    base_url: str
    total: int | None
    more: bool

    def summary(self) -> str:
        """One line: "5 of 17 hits from mp (3 loadable)"."""
        total = f" of {self.total}" if self.total is not None and (self.more or self.total != len(self.hits)) else ""
        loadable = sum(hit.loadable for hit in self.hits)
        return f"{len(self.hits)}{total} hit(s) from {self.provider} ({loadable} loadable)"


def search(
    provider: str,
    elements: Any = None,
    formula: str | None = None,
    nelements: int | str | None = None,
    filter: str | None = None,  # noqa: A002 - OPTIMADE's name for it
    *,
    page_limit: int = 20,
    timeout: float = 20.0,
) -> OptimadeResults:
    """Search an OPTIMADE provider for structures; blocking, bounded by ``timeout``.

    Parameters
    ----------
    provider : str
        A known provider's short name (``"mp"``, ``"oqmd"``, ``"cod"``: :func:`providers`) or a
        base URL (``https://optimade.materialsproject.org``; ``/v1`` is added).
    elements, formula, nelements, filter
        What to search for, as :func:`~crystalwidgets.structures.optimade_filter.build_filter`
        takes them; all given ones must hold.
    page_limit : int, default 20
        At most this many hits (1 to 100): the first page of the provider's answer.
    timeout : float, default 20
        Seconds the whole query may take (0 < timeout <= 300).

    Returns
    -------
    OptimadeResults
        The hits, each with its structure or the reason it has none.

    Raises
    ------
    OptimadeError
        A bad field (named in the message and ``.field``), or a provider that cannot be
        reached, does not answer within ``timeout``, refuses the query or answers with
        something that is not OPTIMADE.

    Examples
    --------
    >>> found = search("mp", elements="Na Cl", nelements=2)  # doctest: +SKIP
    >>> [hit.name for hit in found.hits if hit.loadable]  # doctest: +SKIP
    ['NaCl (optimade: mp mp-22862)', ...]
    """
    if isinstance(page_limit, bool) or not isinstance(page_limit, int) or not 1 <= page_limit <= _MAX_PAGE:
        raise OptimadeError(f"page_limit: {page_limit!r} is not a whole number from 1 to {_MAX_PAGE}: give e.g. 20", "page_limit")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= _MAX_TIMEOUT:
        raise OptimadeError(f"timeout: {timeout!r} is not a number of seconds above 0, at most {_MAX_TIMEOUT:g}: give e.g. 20", "timeout")
    label, base_url = resolve_provider(provider)
    query = build_filter(elements, formula, nelements, filter)
    deadline = time.monotonic() + float(timeout)
    try:
        answer = get_json(f"{base_url}/v1/structures", {"filter": query, "page_limit": page_limit}, label, float(timeout))
    except NotFound as exc:
        _check_versions(base_url, label, deadline)
        raise exc from None
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list):
        raise OptimadeError(
            f"{label} answered without a list of structures: is {base_url} an OPTIMADE base URL? "
            "(give it without /v1/structures, e.g. https://optimade.materialsproject.org)"
        )
    meta = answer.get("meta") if isinstance(answer.get("meta"), dict) else {}
    version = str(meta.get("api_version") or "")
    if version and version.lstrip("v").split(".")[0] != SPOKEN:
        raise OptimadeError(
            f"{label} answered in OPTIMADE {version} (its meta.api_version), but crystalwidgets reads "
            f"version {SPOKEN}.x answers: use a provider that serves OPTIMADE {SPOKEN} at /v{SPOKEN}"
        )
    total = meta.get("data_returned")
    hits = [hit_from_entry(entry, label) for entry in data[:page_limit]]
    return OptimadeResults(
        hits=hits,
        filter=query,
        provider=label,
        base_url=base_url,
        total=total if isinstance(total, int) and not isinstance(total, bool) else None,
        more=bool(meta.get("more_data_available")) or len(data) > page_limit,
    )


def _check_versions(base_url: str, label: str, deadline: float) -> None:
    """After a 404 at ``/v1``: when the provider's ``/versions`` lists only other major
    versions, say so (an OptimadeError); else return, and the 404 stands."""
    left = deadline - time.monotonic()
    if left <= 0.05:
        return
    try:
        text = get_json(f"{base_url}/versions", {}, label, left, 100_000, raw=True)
    except OptimadeError:
        return  # no /versions either: the base URL is wrong, as the 404 says
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    if not lines or lines[0].lower() != "version":
        return  # not the OPTIMADE versions endpoint (text/csv with a header line "version")
    versions = [_text(v, 10) for v in lines[1:20]]
    if versions and SPOKEN not in versions:
        raise OptimadeError(
            f"{label} at {base_url} speaks OPTIMADE version {', '.join(versions)} only (its /versions), "
            f"but crystalwidgets speaks version {SPOKEN}: use a provider that serves /v{SPOKEN}, "
            "or a newer crystalwidgets"
        )


def _text(value: Any, limit: int = 80) -> str:
    """A provider's value as one short line of plain text."""
    return " ".join(str(value).split())[:limit]


def hit_from_entry(entry: Any, provider: str) -> OptimadeHit:
    """An :class:`OptimadeHit` of one entry of a ``/structures`` answer (never raises for a bad
    entry: the hit says why it has no structure)."""
    entry = entry if isinstance(entry, dict) else {}
    attrs = entry.get("attributes") if isinstance(entry.get("attributes"), dict) else {}
    entry_id = _text(entry.get("id", "?"))
    formula = _text(attrs.get("chemical_formula_reduced") or attrs.get("chemical_formula_descriptive") or "?")
    nsites = attrs.get("nsites")
    nsites = nsites if isinstance(nsites, int) and not isinstance(nsites, bool) else None
    group = attrs.get("space_group_symbol_hermann_mauguin") or attrs.get("space_group_it_number")
    group = _text(group, 30) if group not in (None, "") else None
    name = f"{provider} {entry_id}"
    try:
        atoms = load_structure(entry_to_atoms(entry), name=name)
    except CrystalWidgetsError as exc:
        reason = str(exc).removeprefix(f"{name!r}: ")  # the hit names the entry already
        return OptimadeHit(provider, entry_id, formula, nsites, group, None, _text(reason, 400))
    atoms.info.update({"optimade_provider": provider, "optimade_id": entry_id})
    formula = describe_structure(atoms)["formula"]
    return OptimadeHit(provider, entry_id, formula, nsites, group, atoms, None)
