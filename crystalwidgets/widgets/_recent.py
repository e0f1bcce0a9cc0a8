"""The App's "Recent structures": what was loaded into Apps on this store, newest first,
in this kernel or earlier ones (:class:`crystalwidgets.jobs.recent.RecentStructures`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import ipywidgets as w

__all__ = ["RecentList"]


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


class RecentList(w.VBox):
    """A list of the recent structures with Load and Forget.

    Parameters
    ----------
    recent : RecentStructures
        Where they are kept.
    load : callable
        Called with the picked entries (:class:`~crystalwidgets.jobs.store.LoadedStructure`)
        to load them; the App reads them off its thread.
    """

    def __init__(self, recent: Any, load: Callable[[list[Any]], None]) -> None:
        self.recent = recent
        self._load = load
        self.entries: list[Any] = []
        # option texts are text in the browser, never HTML: labels come from files and users
        self.select = w.SelectMultiple(options=[], rows=8, layout=w.Layout(width="100%"))
        self.select.add_class("cw-recent-list")
        self.load_button = w.Button(description="Load")
        self.forget_button = w.Button(description="Forget")
        self.note = w.Label()
        self.load_button.on_click(lambda _: self.load_picked())
        self.forget_button.on_click(lambda _: self.forget_picked())
        super().__init__([self.select, w.HBox([self.load_button, self.forget_button, self.note])])
        self.add_class("cw-recent")

    def refresh(self) -> None:
        """Read the list again (milliseconds: at most the kept 50 rows)."""
        self.entries = self.recent.list()
        self.select.options = [
            (f"{e.label} ({e.formula}, {e.n_atoms} atoms) - {e.provenance}, {_when(e.loaded)}", e.hash)
            for e in self.entries
        ]
        self.note.value = "" if self.entries else "nothing loaded yet"

    def picked(self) -> list[Any]:
        chosen = set(self.select.value)
        return [e for e in self.entries if e.hash in chosen]

    def load_picked(self) -> None:
        """Load the picked structures into the App (oldest first, so the newest ends selected)."""
        picked = self.picked()
        if not picked:
            self.note.value = "pick one or more structures above first"
            return
        self._load(picked[::-1])

    def forget_picked(self) -> None:
        """Take the picked structures off the list, in every kernel on this store."""
        picked = self.picked()
        if not picked:
            self.note.value = "pick one or more structures above first"
            return
        self.recent.forget(*(e.hash for e in picked))
        self.refresh()
        self.note.value = f"forgot {len(picked)} structure(s)"
