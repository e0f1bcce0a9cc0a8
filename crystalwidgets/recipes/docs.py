"""Numpydoc text of recipes, as plain text for forms and messages (mkdocs links stripped)."""

from __future__ import annotations

import re
import warnings

_LINK_REF = re.compile(r"\[([^\[\]]+)\]\[[^\[\]]*\]")  # mkdocs autorefs: [text][] or [text][id]


_LINK_URL = re.compile(r"\[([^\[\]]+)\]\([^()\s]+\)")  # markdown: [text](url)


def _plain_text(lines: list[str] | str) -> str:
    """Docstring text for display: mkdocs/markdown links reduced to their text, lines rejoined."""
    text = "\n".join(lines) if isinstance(lines, list) else lines
    text = _LINK_URL.sub(r"\1", _LINK_REF.sub(r"\1", text)).replace("#!Python ", "")
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        rows = [r.strip() for r in block.splitlines() if r.strip()]
        # keep list items on their own lines, join wrapped text
        joined = ""
        for row in rows:
            sep = "\n" if joined and re.match(r"([-*+]|\d+\.)\s", row) else " " if joined else ""
            joined += sep + row
        paragraphs.append(joined)
    return "\n\n".join(p for p in paragraphs if p)


def _summary(doc: str) -> str:
    """The first paragraph of a docstring as plain text; a closing colon takes the numbered steps after it."""
    paragraphs = re.split(r"\n\s*\n", doc.strip()) if doc else [""]
    summary = _plain_text(paragraphs[0])
    if summary.endswith(":"):
        steps = []
        for paragraph in paragraphs[1:]:
            if not re.match(r"\s*\d+\.\s", paragraph):
                break
            steps.append(paragraph.strip().splitlines()[0].strip())
        summary = " ".join([summary, *steps]) if steps else summary
    return summary


def _parse_doc(doc: str) -> tuple[str, dict[str, str]]:
    """The description (summary and extended summary) and the help of each documented parameter."""
    if not doc:
        return "", {}
    from numpydoc.docscrape import NumpyDocString

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = NumpyDocString(doc)
    except Exception:  # a docstring numpydoc cannot read still has a summary
        return _summary(doc), {}
    description = _plain_text(parsed["Summary"] + [""] + parsed["Extended Summary"])
    helps = {}
    for section in ("Parameters", "Other Parameters"):
        for entry in parsed[section]:
            for name in entry.name.split(","):
                helps[name.strip().lstrip("*")] = _plain_text(entry.desc)
    return description, helps
