"""The VASP notebook in real JupyterLab and Chromium: a structure whose POTCAR is missing is
refused inline on the preset field with Submit off, and a valid one shows quacc's input preview.
(VASP is a stand-in there, see the notebook; the form's check and preview are the real ones.)"""

from __future__ import annotations

import pytest

from tests.helpers import wait_until

pytestmark = pytest.mark.browser

NOTEBOOK = "06-vasp.ipynb"


def test_vasp_form_refuses_a_missing_potcar_inline_and_previews_the_inputs(open_notebook, lab):
    notebook = open_notebook(NOTEBOOK)
    notebook.run_all(timeout=240)
    panel, page = notebook.panel, notebook.page
    form = panel.locator(".cw-form").first
    submit = form.locator(".cw-submit")

    with lab.probe(NOTEBOOK) as kernel:
        assert kernel.eval("[j.state.value for j in mgr.jobs()]") == ["completed", "completed"]
        kernel.exec("app.pick.index = 0")  # Al: the library has no Al POTCAR
        kernel.wait_for("app.form.status", "", timeout=60)
        expected = kernel.eval("app.form.errors['preset']")
    assert expected.startswith("Al: no POTCAR ")
    error = form.locator("[data-field='preset'] .cw-error")
    error.wait_for(timeout=20_000)
    assert expected in error.inner_text()
    wait_until(lambda: not submit.is_enabled(), 10, "Submit to be disabled")
    assert "the input preview comes once the problems above are fixed" in form.inner_text()
    notebook.screenshot("vasp-form-potcar-refused", form)

    with lab.probe(NOTEBOOK) as kernel:
        kernel.exec("app.pick.index = 1")  # Si2: its POTCAR is there
        kernel.wait_for("app.form.valid", True, timeout=60)
    wait_until(lambda: submit.is_enabled(), 15, "Submit to be enabled again")
    assert form.locator("[data-field='preset'] .cw-error").count() == 0
    form.locator(".cw-preview summary").click()
    incar = form.locator(".cw-preview-file[data-file='INCAR']")
    incar.wait_for(timeout=20_000)
    assert "ENCUT = 520.000000" in incar.inner_text() and "NEDOS = 3001" in incar.inner_text()
    assert "Si (PBE: PAW_PBE Si 05Jan2001)" in form.locator(".cw-preview-potcars").inner_text()
    assert "pymatgen does not know the POTCAR" in form.locator(".cw-note").first.inner_text()
    notebook.screenshot("vasp-form-input-preview", form)
