"""The App's sweep controls: which structures, up to two recipe parameters and a strain or
rattle of the structure, each with its values; the grid itself is made and validated by
:func:`crystalwidgets.jobs.sweep.sweep_grid`."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..jobs.sweep import parse_strains, parse_values, sweepable
from ._entries import _literal_nodes

__all__ = ["SweepControls"]

_NONE = "(none)"
#: structure variations: shown name -> (sweep_grid keyword, how (parse_strains' along), placeholder)
_VARY = {
    "strain (%)": ("strain", None, "isotropic %, e.g. -2..2:5"),
    "strain a,b (%)": ("strain", "ab", "in-plane %, e.g. -2..2:5"),
    "strain a (%)": ("strain", "a", "along a %, e.g. -1, 1"),
    "strain b (%)": ("strain", "b", "along b %, e.g. -1, 1"),
    "strain c (%)": ("strain", "c", "along c %, e.g. -2..2:5"),
    "strain a b c (%)": ("strain", "each", "a b c; ... e.g. 1 1 -2; 0 0 2"),
    "rattle (Å)": ("rattle", None, "stdev in Å, e.g. 0.01, 0.05"),
}
_ROWS = 2


class SweepControls(w.VBox):
    """Sweep inputs; :meth:`arguments` turns them into :func:`sweep_grid`'s arguments."""

    def __init__(self) -> None:
        narrow, text = w.Layout(width="250px"), w.Layout(width="170px")
        style = {"description_width": "80px"}
        self.over = w.Dropdown(
            options=[("the selected structure", "selected"), ("every loaded structure", "all")],
            value="selected",
            description="structures",
            layout=w.Layout(width="250px"),
            style=style,
        )
        self.parameters = [
            w.Dropdown(options=[_NONE], description="sweep over" if i == 0 else "and", layout=narrow, style=style)
            for i in range(_ROWS)
        ]
        self.values = [
            w.Text(placeholder="values, e.g. 0.1, 0.05, 0.01", layout=text) for _ in range(_ROWS)
        ]
        self.vary = w.Dropdown(options=[_NONE, *_VARY], description="vary", layout=narrow, style=style)
        self.vary_values = w.Text(placeholder="", layout=text, disabled=True)
        self.button = w.Button(description="Submit sweep", layout=w.Layout(width="auto"))
        self.progress = w.IntProgress(
            value=0, min=0, max=1, description="sweep", layout=w.Layout(width="250px", visibility="hidden")
        )
        self.progress_text = w.Label()  # text, never HTML: errors quote what was typed
        self._types: dict[str, dict[str, Any]] = {}
        for box in self.parameters:
            box.observe(self._on_parameter, names="value")
        self.vary.observe(self._on_vary, names="value")
        super().__init__(
            [
                self.over,
                *(w.HBox([p, v]) for p, v in zip(self.parameters, self.values)),
                w.HBox([self.vary, self.vary_values]),
                w.HBox([self.button, self.progress]),
                self.progress_text,
            ]
        )
        self.add_class("cw-sweep")

    def set_spec(self, spec: dict[str, Any]) -> None:
        """Offer the parameters of this recipe a sweep can vary."""
        self._types = sweepable(spec)
        for box in self.parameters:
            keep = box.value if box.value in self._types else _NONE
            box.options = [_NONE, *self._types]
            box.value = keep

    def _on_parameter(self, change: dict[str, Any] | None = None) -> None:
        for box, text in zip(self.parameters, self.values):
            choices = [v for node in _literal_nodes(self._types.get(box.value, {})) for v in node.get("values", [])]
            text.placeholder = (
                f"choices, e.g. {', '.join(map(str, choices))}" if choices else "values, e.g. 0.1, 0.05, 0.01 or 1..3:3"
            )

    def _on_vary(self, change: dict[str, Any] | None = None) -> None:
        what = _VARY.get(self.vary.value)
        self.vary_values.disabled = what is None
        self.vary_values.placeholder = what[2] if what else ""

    def arguments(self) -> dict[str, Any]:
        """``over`` ("selected" or "all"), ``grid`` and ``strain``/``rattle`` from the inputs.

        Raises
        ------
        CrystalWidgetsError
            A value's text is not a number (or range), naming the field.
        """
        grid = {}
        for box, text in zip(self.parameters, self.values):
            if box.value != _NONE:
                grid[box.value] = parse_values(text.value, self._types[box.value], what=box.value)
        out: dict[str, Any] = {"over": self.over.value, "grid": grid}
        if self.vary.value in _VARY:
            name, along, _ = _VARY[self.vary.value]
            text = self.vary_values.value
            out[name] = parse_strains(text, along) if name == "strain" else parse_values(text, None, what=name)
        return out

