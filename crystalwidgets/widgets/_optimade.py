"""The App's OPTIMADE search: a provider, elements / formula / number of elements (and a raw
filter for experts), Search, a short list of hits, Load.

The search runs in a worker thread (the App's off-thread reader), so the kernel stays free
while a provider answers; the status line says "searching ..." and then the hits or the error.
Everything a provider sends is shown as text (Labels and the options of a select), never HTML.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..structures.optimade import OptimadeHit, OptimadeResults, providers, search

__all__ = ["OptimadeSearch", "hit_row"]

#: Each search field on a line of its own, as wide as the section allows.
_FIELD = {"width": "min(100%, 420px)"}


def hit_row(hit: OptimadeHit) -> str:
    """One line of the hit list: "mp-22862 | NaCl | 2 sites | F m -3 m"; a hit that cannot be
    loaded says so, with the reason."""
    sites = f"{hit.nsites} sites" if hit.nsites is not None else "? sites"
    row = f"{hit.id} | {hit.formula} | {sites} | {hit.space_group or '-'}"
    return row if hit.loadable else f"{row} | not loadable: {hit.reason}"


class OptimadeSearch(w.VBox):
    """Search fields, a status line, the hits and a Load button; loading hands the picked
    loadable hits to ``on_load``.

    Parameters
    ----------
    off_thread : callable
        Runs ``[(what, call, label)]`` in a worker thread and calls back on the kernel's loop
        with ``(results, errors)`` (:meth:`App._read_off_thread`).
    on_load : callable
        Called with the list of :class:`OptimadeHit` to load; returns the names added.
    """

    def __init__(self, off_thread: Callable[..., Any], on_load: Callable[[list[OptimadeHit]], list[str]]) -> None:
        self._off_thread = off_thread
        self._on_load = on_load
        self.results: OptimadeResults | None = None
        self.provider = w.Combobox(
            options=list(providers()), value="mp", placeholder="mp, oqmd, cod ... or a base URL",
            description="provider", ensure_option=False, layout=_FIELD,
        )
        self.elements = w.Text(placeholder="all of, e.g. Na Cl", description="elements", layout=_FIELD)
        self.formula = w.Text(placeholder="reduced, e.g. NaCl", description="formula", layout=_FIELD)
        self.nelements = w.Text(placeholder="exactly, e.g. 2", description="# elements", layout=_FIELD)
        self.filter = w.Text(placeholder="raw OPTIMADE filter, e.g. nsites<=8", description="filter", layout=_FIELD)
        self.search_button = w.Button(description="Search", button_style="primary")
        self.status = w.Label(value="")  # text, never HTML: the provider's words are untrusted
        self.hits = w.SelectMultiple(options=[], rows=6, layout=w.Layout(width="100%"))
        self.load_button = w.Button(description="Load selected", disabled=True)
        for widget, name in [
            (self.provider, "provider"), (self.elements, "elements"), (self.formula, "formula"),
            (self.nelements, "nelements"), (self.filter, "filter"), (self.search_button, "search"),
            (self.status, "status"), (self.hits, "hits"), (self.load_button, "load"),
        ]:
            widget.add_class(f"cw-optimade-{name}")
        self.search_button.on_click(lambda _: self.start_search())
        self.load_button.on_click(lambda _: self.load_selected())
        self.hits.observe(lambda _: self._update_load(), names="value")
        super().__init__(
            [
                self.provider,
                self.elements,
                self.formula,
                self.nelements,
                self.filter,
                w.HBox([self.search_button, self.status]),
                self.hits,
                self.load_button,
            ]
        )
        self.add_class("cw-optimade")

    def _query(self) -> dict[str, Any]:
        return {
            "provider": self.provider.value,
            "elements": self.elements.value,
            "formula": self.formula.value,
            "nelements": self.nelements.value,
            "filter": self.filter.value,
        }

    def start_search(self) -> Any:
        """Search with the fields' values in a worker thread; the status says what happens."""
        query = self._query()
        self.search_button.disabled = True
        self.status.value = f"searching {query['provider'].strip() or '?'} ..."
        call = functools.partial(search, **query)
        self._thread = self._off_thread([("the OPTIMADE search", call, None)], "cw-optimade", self._searched)
        return self._thread

    def _searched(self, done: list[tuple[Any, Any]], errors: list[str]) -> None:
        self.search_button.disabled = False
        if errors:
            self.status.value = errors[0]
            return
        self.show(done[0][0])

    def show(self, results: OptimadeResults) -> None:
        """List ``results``' hits (nothing selected) and say how many were found."""
        self.results = results
        self.hits.value = ()
        self.hits.options = [(hit_row(hit), i) for i, hit in enumerate(results.hits)]
        more = ": more match, narrow the search" if results.more else ""
        self.status.value = f"{results.summary()}{more}" if results.hits else f"no hits from {results.provider} for {results.filter}"
        self._update_load()

    def _update_load(self) -> None:
        self.load_button.disabled = not self.hits.value

    def selected(self) -> list[OptimadeHit]:
        """The hits picked in the list."""
        if self.results is None:
            return []
        return [self.results.hits[i] for i in self.hits.value]

    def load_selected(self) -> list[str]:
        """Load the picked hits that can be loaded; the status names the rest and why."""
        picked = self.selected()
        loadable = [hit for hit in picked if hit.loadable]
        names = self._on_load(loadable) if loadable else []
        skipped = [f"{hit.id} not loaded: {hit.reason}" for hit in picked if not hit.loadable]
        self.status.value = " | ".join(([f"loaded {len(names)} structure(s)"] if names else []) + skipped)
        return names
