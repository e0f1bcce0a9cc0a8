"""The Python<->JS messages are declared once (widgets/_messages.py): the browser code sends
only declared kinds, and each widget handles every kind declared for it."""

from __future__ import annotations

import re

import pytest

from crystalwidgets.widgets._messages import FORM_FROM_BROWSER, PICKER_FROM_BROWSER, TABLE_FROM_BROWSER
from tests.helpers import ROOT

SENT = re.compile(r"""send\(\s*\{\s*kind:\s*["']([a-z_-]+)["']""")


@pytest.mark.parametrize(
    "sources, declared",
    [(["form.js"], FORM_FROM_BROWSER), (["picker.js"], PICKER_FROM_BROWSER), (["table/*.js"], TABLE_FROM_BROWSER)],
)
def test_the_browser_sends_only_declared_kinds(sources, declared):
    sent = set()
    for pattern in sources:
        for path in (ROOT / "js").glob(pattern):
            sent |= set(SENT.findall(path.read_text()))
    assert sent, f"no messages found in {sources}: has the JS moved?"
    assert sent <= set(declared), f"sent but not declared: {sent - set(declared)}"
    assert set(declared) <= sent, f"declared but never sent: {set(declared) - sent}"


def test_the_picker_handles_every_declared_kind(cw_home):
    from crystalwidgets.widgets import ClusterPicker

    assert set(ClusterPicker()._handlers({})) == set(PICKER_FROM_BROWSER)
