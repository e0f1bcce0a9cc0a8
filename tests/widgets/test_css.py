"""The widgets' style sheets do not reach into each other.

Every bundle's CSS is loaded into the same page (the App shows a form, a picker, a viewer
and a table at once), in whatever order the widgets were first drawn. A rule one widget's
sheet sets on a bare class (``.cw-confirm { ... }``) therefore applies to every widget's
elements of that class, and which of two such rules wins depends on that order: the
JobTable's error cells took the form's pure theme red, the picker's confirm box the table's
``position: absolute``. So: a bare class is set in one sheet only, and a component sheet
refines base.css's shared classes only inside its own root (``.cw-form .cw-error``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from tests.helpers import ROOT

JS = ROOT / "js"
BASE = JS / "lib" / "base.css"
SHEETS = sorted(p for p in JS.rglob("*.css") if "node_modules" not in p.parts and p != BASE)


def _bare_classes(path: Path) -> set[str]:
    """Classes a selector of ``path`` targets on their own, unscoped: one class, maybe with
    pseudo-classes or attributes (``.a``, ``:where(.a)``, ``.a:hover``; not ``.root .a`` nor
    ``.a.b``, which the other class scopes)."""
    text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
    found: set[str] = set()
    for selectors in re.findall(r"([^{}]+)\{", text):
        for selector in selectors.split(","):
            selector = re.sub(r":where\(([^()]*)\)", r"\1", selector.strip())
            if selector.startswith("@") or re.search(r"[\s>+~]", selector):
                continue
            classes = re.findall(r"\.(cw-[\w-]+)", selector)
            if len(classes) == 1 and selector.startswith("."):
                found.add(classes[0])
    return found


def test_there_are_sheets_to_check():
    names = {p.name for p in SHEETS}
    assert {"form.css", "picker.css", "viewer.css", "table.css"} <= names, names
    assert "cw-mono" in _bare_classes(BASE)  # the parser sees the shared classes


def test_no_bare_class_is_styled_by_two_widgets_sheets():
    where: dict[str, list[str]] = defaultdict(list)
    for sheet in SHEETS:
        for cls in _bare_classes(sheet):
            where[cls].append(sheet.relative_to(JS).as_posix())
    shared = {cls: sheets for cls, sheets in where.items() if len(sheets) > 1}
    assert not shared, f"scope these under each widget's root class: {shared}"


def test_the_shared_classes_are_refined_only_inside_a_widgets_root():
    base = _bare_classes(BASE) - {"cw-widget"}
    leaks = {sheet.relative_to(JS).as_posix(): sorted(_bare_classes(sheet) & base) for sheet in SHEETS}
    leaks = {k: v for k, v in leaks.items() if v}
    assert not leaks, f"base.css's shared classes set bare in a widget's sheet: {leaks}"
