"""JobTable's Export buttons in real JupyterLab and real Chromium: the downloaded files hold
the rows the table shows after a filter, in its order.

The demo notebook (notebooks/table-demo.ipynb) is run once for the module, as in
test_table.py; the test submits its own jobs through the notebook's kernel.
"""

from __future__ import annotations

import csv
import io

import ase.io
import pytest
from _lab import REPO, demo_notebook

from tests.helpers import wait_until

NOTEBOOK = "table-demo.ipynb"

#: The ids of the rows drawn, top to bottom (row elements are pooled: DOM order is not the order shown).
SHOWN_JS = """(root) => [...root.querySelectorAll('.cw-tr')]
  .filter((row) => !row.hidden)
  .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
  .map((row) => row.dataset.id)"""


@pytest.fixture(scope="module")
def demo(lab, browser):
    setup = f"import sys; sys.path.insert(0, {str(REPO)!r}); from tests import jobfuncs"
    with demo_notebook(lab, browser, NOTEBOOK, setup, width=1280, timeout=180) as notebook:
        yield notebook


def download(page, button) -> str:
    """Click ``button`` and return the text of the file it downloads."""
    with page.expect_download(timeout=60_000) as info:
        button.click()
    with open(info.value.path(), encoding="utf-8") as fh:
        return fh.read()


def test_the_export_buttons_download_the_rows_the_filter_shows_in_the_tables_order(demo):
    table = demo.panel.locator(".cw-table")
    table.wait_for(state="visible", timeout=30_000)
    demo.probe.exec(
        "exported = [mgr.submit(bulk('Cu', a=a), 'emt.static_job', label=f'exportme {a}') for a in (3.5, 3.6, 3.7)]\n"
        "exported.append(mgr.submit(bulk('Cu'), jobfuncs.failing_job, label='exportme failing'))\n"
        "exported.append(mgr.submit(bulk('Al'), 'emt.static_job', label='not this one'))"
    )
    demo.probe.eval("[j.id for j in mgr.wait([j.id for j in exported], timeout=240)]", timeout=260)
    ids = demo.probe.eval("[j.id for j in exported]")

    # filter in the browser: the search box, then the state; sort by energy, highest first
    table.locator("input.cw-table-search").fill("exportme")
    demo.probe.wait_for("table.filter_text", "exportme")
    table.locator(".cw-th[data-key='energy_ev'] .cw-sort").click()
    table.locator(".cw-th[data-key='energy_ev'] .cw-sort").click()
    demo.probe.wait_for("(table.sort_by, table.sort_descending)", ["energy_ev", True])
    try:
        wait_until(lambda: table.get_attribute("data-cw-shown") == "4", 10, "the 4 rows of the filter")
        shown = table.evaluate(SHOWN_JS)
        assert sorted(shown) == sorted(ids[:4])
        assert shown[-1] == ids[3]  # the failed job has no energy: last

        text = download(demo.page, table.locator("button.cw-table-export-csv"))
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [r["id"] for r in rows] == shown
        assert [r["label"] for r in rows][-1] == "exportme failing"
        energies = [float(r["energy_ev"]) for r in rows[:3]]
        assert energies == sorted(energies, reverse=True)
        status = table.locator(".cw-status")
        wait_until(lambda: status.inner_text() == "jobs.csv: wrote 4 rows", 10, "the CSV note")

        table.locator("select.cw-table-state").select_option("completed")
        demo.probe.wait_for("table.filter_state", "completed")
        wait_until(lambda: table.get_attribute("data-cw-shown") == "3", 10, "the 3 completed rows")
        shown = table.evaluate(SHOWN_JS)
        text = download(demo.page, table.locator("button.cw-table-export-csv"))
        assert [r["id"] for r in csv.DictReader(io.StringIO(text))] == shown
        assert sorted(shown) == sorted(ids[:3])

        text = download(demo.page, table.locator("button.cw-table-export-extxyz"))
        frames = ase.io.read(io.StringIO(text), index=":", format="extxyz")
        assert [f.info["job_id"] for f in frames] == shown
        energies = demo.probe.eval("[mgr.result(i)['results']['energy'] for i in %r]" % shown)
        assert [f.get_potential_energy() for f in frames] == pytest.approx(energies, rel=1e-12)
        wait_until(lambda: status.inner_text() == "jobs.extxyz: wrote 3 structures", 10, "the extxyz note")
        assert demo.dialogs == []
        demo.screenshot("table-export", table)
    finally:
        demo.probe.exec(
            "table.filter_text = ''; table.filter_state = ''; table.sort_by = 'age'; table.sort_descending = False"
        )
