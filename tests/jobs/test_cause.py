"""The headline of a failure: quacc's wrapper line gives way to the real cause."""

from __future__ import annotations

import traceback

import pytest
from ase.build import bulk

from crystalwidgets.jobs.cause import error_headline


def _real_quacc_failure(tmp_path, monkeypatch) -> str:
    from quacc import change_settings
    from quacc.recipes.emt.core import static_job

    monkeypatch.chdir(tmp_path)
    with change_settings({"RESULTS_DIR": tmp_path}):
        try:
            static_job(bulk("NaCl", "rocksalt", a=5.64))
        except Exception:
            return traceback.format_exc()
    pytest.fail("EMT ran on Na")


def test_a_real_quacc_failure_is_headlined_by_its_cause_not_the_wrapper(tmp_path, monkeypatch):
    text = _real_quacc_failure(tmp_path, monkeypatch)
    assert text.strip().splitlines()[-1].startswith("quacc.JobFailure: Calculation failed!")  # the old headline
    assert error_headline(text) == "NotImplementedError: No EMT-potential for Na"
    # the stored error keeps only the end of a long traceback: the cause is still found
    assert error_headline("…" + text[40:]) == "NotImplementedError: No EMT-potential for Na"


def test_other_texts():
    assert error_headline(None) is None and error_headline("  \n") is None
    runner = "the job's process (pid 12 on n1) was killed by SIGKILL without writing a result\n\nstderr:\nTraceback (most recent call last):\n  File \"x\", line 1\nMemoryError"
    assert error_headline(runner).startswith("the job's process (pid 12 on n1) was killed by SIGKILL")
    during = (
        "Traceback (most recent call last):\n  File \"a.py\", line 1, in <module>\n    f()\nKeyError: 'x'\n\n"
        "During handling of the above exception, another exception occurred:\n\n"
        "Traceback (most recent call last):\n  File \"a.py\", line 3\nValueError: bad\n"
    )
    assert error_headline(during) == "KeyError: 'x'"
    multi = "Traceback (most recent call last):\n  File \"a.py\", line 1\n    g()\n    ^^^\nRuntimeError: first\nsecond line"
    assert error_headline(multi) == "RuntimeError: first second line"
    assert error_headline("x" * 300, 50) == "x" * 49 + "…"
