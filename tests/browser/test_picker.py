"""ClusterPicker in real JupyterLab and real Chromium: create with an inline error, fix, save,
check, delete with confirmation, untrusted text, block health of a live Parsl runner.

One notebook (notebooks/picker-demo.ipynb) is opened and run once for the module; the tests
click in the page and read the kernel's state (and ``profiles.json``) through the probe.
Screenshots go to the artifacts folder (see ``_lab.artifacts_dir``).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from _lab import demo_notebook

from tests.helpers import wait_until

NOTEBOOK = "picker-demo.ipynb"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def demo(lab, browser):
    """The demo notebook, run once; every dialog the page opens is recorded and dismissed."""
    setup = "from crystalwidgets import ProfileStore; from ase.build import bulk; import os, json"
    with demo_notebook(lab, browser, NOTEBOOK, setup, width=1100, timeout=120) as notebook:
        yield notebook
        notebook.probe.exec("mgr.close()", timeout=60)  # no Parsl engine outlives the test
        notebook.probe.exec(  # the lab's config dir is shared by the session's other tests
            "for _name in ('laptop', 'greedy', 'htex', 'hpc', 'toolong'):\n"
            "    if _name in ProfileStore().names(): ProfileStore().delete(_name)"
        )


def picker_of(notebook):
    picker = notebook.panel.locator(".cw-picker")
    picker.wait_for(state="visible", timeout=30_000)
    return picker


def saved_profiles(notebook) -> dict:
    return notebook.probe.eval(
        "json.loads(ProfileStore().path.read_text()) if ProfileStore().path.exists() else {}"
    )


def field(picker, name: str):
    return picker.locator(f".cw-editor .cw-field[data-field='{name}']")


def type_in(picker, name: str, text: str) -> None:
    """Type into a field and leave it (the change event reports the entry)."""
    box = field(picker, name).locator(".cw-input")
    box.fill(text)
    box.press("Tab")


def test_create_shows_the_error_inline_saves_nothing_then_saves_lists_and_checks(demo):
    picker = picker_of(demo)
    rows = picker.locator(".cw-profile")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-name") == "local"
    assert rows.first.locator(".cw-profile-kind").inner_text() == "local · built-in"
    assert rows.first.locator("button[data-action='delete']").is_disabled()

    picker.locator("select.cw-new-kind").select_option("local")
    picker.locator("button[data-action='new']").click()
    editor = picker.locator(".cw-editor")
    editor.wait_for(state="visible", timeout=10_000)
    assert editor.locator(".cw-editor-title").inner_text() == "New local profile"
    assert [f.get_attribute("data-field") for f in editor.locator(".cw-field").all()] == [
        "name", "description", "max_workers"]
    assert "Allowed: 1 to 1024." in field(picker, "max_workers").locator(".cw-help").inner_text()

    type_in(picker, "name", "laptop")
    field(picker, "max_workers").locator(".cw-default input").uncheck()  # leave the default
    type_in(picker, "max_workers", "0")
    error = field(picker, "max_workers").locator(".cw-error")
    error.wait_for(state="visible", timeout=10_000)
    assert error.inner_text() == "Input should be greater than or equal to 1"
    assert "cw-invalid" in field(picker, "max_workers").get_attribute("class")
    save = editor.locator("button[data-action='save']")
    assert save.is_disabled() and save.get_attribute("title") == "fix 1 field first"
    demo.screenshot("picker-inline-error", picker)
    assert "laptop" not in saved_profiles(demo)
    assert demo.probe.eval("picker.names()") == ["local"]

    type_in(picker, "max_workers", "2")
    wait_until(lambda: error.count() == 0, 10, "the error to go away")
    wait_until(lambda: save.is_enabled(), 10, "Save to be enabled")
    save.click()
    editor.wait_for(state="hidden", timeout=10_000)
    row = picker.locator(".cw-profile[data-name='laptop']")
    row.wait_for(state="visible", timeout=10_000)
    assert row.get_attribute("aria-checked") == "true"
    assert row.locator(".cw-profile-kind").inner_text() == "local"
    assert saved_profiles(demo)["laptop"] == {"kind": "local", "name": "laptop", "description": "", "max_workers": 2}
    assert demo.probe.eval("oct(os.stat(ProfileStore().path).st_mode & 0o777)") == "0o600"
    assert demo.probe.eval("picker.value") == "laptop"
    assert picker.locator(".cw-status").inner_text().startswith("saved 'laptop' to ")

    picker.locator("button[data-action='check']").click()
    check = picker.locator(".cw-check[data-state='done']")
    check.wait_for(state="visible", timeout=30_000)
    assert check.inner_text().startswith("Check of “laptop”: no problems found")
    demo.screenshot("picker-saved-checked", picker)


def test_check_problems_show_one_per_line_and_delete_asks_first(demo):
    picker = picker_of(demo)
    demo.probe.exec(
        "ProfileStore().save({'kind': 'local', 'name': 'greedy', 'max_workers': 64, "
        f"'description': {XSS!r}}})"
    )
    row = picker.locator(".cw-profile[data-name='greedy']")
    row.wait_for(state="visible", timeout=15_000)  # picked up by the picker's refresh timer
    assert row.locator(".cw-profile-desc").inner_text() == XSS  # literal text
    assert picker.locator("img").count() == 0

    row.click()
    demo.probe.wait_for("picker.value", "greedy")
    picker.locator("button[data-action='check']").click()
    check = picker.locator(".cw-check[data-state='done']")
    check.wait_for(state="visible", timeout=30_000)
    problems = check.locator(".cw-problem")
    assert problems.count() == 1
    assert problems.first.inner_text().startswith("max_workers: 64 is far above this machine's")
    assert check.locator(".cw-check-head").inner_text().startswith("Check of “greedy”: 1 problem")
    demo.screenshot("picker-check-problem", picker)

    row.locator("button[data-action='delete']").click()
    confirm = row.locator(".cw-confirm-box")
    confirm.wait_for(state="visible", timeout=5_000)
    assert confirm.locator(".cw-confirm").inner_text() == "Delete profile “greedy”?"
    demo.screenshot("picker-delete-confirm", picker)
    row.locator("button[data-action='keep']").click()
    row.locator("button[data-action='delete']").wait_for(state="visible", timeout=5_000)
    assert "greedy" in saved_profiles(demo)

    row.locator("button[data-action='delete']").click()
    row.locator("button[data-action='confirm-delete']").click()
    row.wait_for(state="detached", timeout=10_000)
    assert "greedy" not in saved_profiles(demo)
    demo.probe.wait_for("picker.value", "local")
    assert demo.dialogs == []  # inline confirmation, no window.confirm, no alert(1)


def test_block_health_of_a_live_parsl_runner(demo):
    picker = picker_of(demo)
    demo.probe.exec(
        "ProfileStore().save({'kind': 'parsl-local', 'name': 'htex', 'max_workers_per_node': 1,"
        " 'description': 'Parsl HTEX on this machine'})\n"
        "picker.refresh(); picker.value = 'htex'"
    )
    picker.locator(".cw-profile[data-name='htex'][aria-checked='true']").wait_for(timeout=10_000)
    assert picker.locator(".cw-health").is_hidden()  # no runner for it yet: nothing shown
    demo.probe.exec("htex_job = mgr.submit(bulk('Cu'), 'emt.relax_job', profile='htex', relax_cell=False)")
    demo.probe.wait_for("mgr.get(htex_job.id).state.value", "completed", timeout=180)
    blocks = picker.locator(".cw-blocks tbody tr")
    blocks.first.wait_for(state="visible", timeout=30_000)
    cells = [c.inner_text() for c in blocks.first.locator("td").all()]
    health = demo.probe.eval("picker.health")
    assert cells[0] == health["blocks"][0]["block"]
    assert cells[1] == str(health["blocks"][0]["job_id"])  # the block's pid (Slurm job id on Slurm)
    assert cells[2] in ("RUNNING", "PENDING")
    assert picker.locator(".cw-health-title").inner_text() == "Blocks of “htex”"
    facts = picker.locator(".cw-health-facts")
    assert "engine ready" in facts.inner_text()
    # the job is done: the refresh timer brings the runner's counts up to date
    wait_until(lambda: "0 waiting · 0 running" in facts.inner_text(), 20, "the finished job to leave the counts")
    demo.screenshot("picker-block-health", picker)

    picker.locator(".cw-profile[data-name='local']").click()
    picker.locator(".cw-health").wait_for(state="hidden", timeout=10_000)  # no health: nothing shown


@pytest.mark.skipif(shutil.which("sbatch") is None, reason="needs Slurm (start ../shared/slurm/start-slurm.sh beside the clone)")
def test_slurm_profile_check_and_deep_check(demo):
    if subprocess.run(["sinfo", "-h"], capture_output=True, timeout=20).returncode != 0:
        pytest.skip("Slurm is installed but not running (start ../shared/slurm/start-slurm.sh beside the clone)")
    picker = picker_of(demo)
    picker.locator("select.cw-new-kind").select_option("parsl-slurm")
    picker.locator("button[data-action='new']").click()
    editor = picker.locator(".cw-editor")
    editor.wait_for(state="visible", timeout=10_000)
    assert field(picker, "worker_init").locator("textarea").count() == 1  # shell lines
    type_in(picker, "name", "hpc")
    field(picker, "partition").locator(".cw-default input").uncheck()
    type_in(picker, "partition", "short")
    field(picker, "walltime").locator(".cw-default input").uncheck()
    type_in(picker, "walltime", "02:00:00")
    wait_until(lambda: demo.probe.eval("picker.entries.get('walltime')") == {"text": "02:00:00"}, 10, "walltime")
    demo.screenshot("picker-slurm-editor", picker)
    editor.locator("button[data-action='save']").click()
    picker.locator(".cw-profile[data-name='hpc']").wait_for(state="visible", timeout=10_000)

    picker.locator("button[data-action='check']").click()
    check = picker.locator(".cw-check[data-state='done']")
    check.wait_for(state="visible", timeout=120_000)
    assert any(
        p.startswith("walltime: 02:00:00 is over partition short's MaxTime")
        for p in check.locator(".cw-problem").all_inner_texts()
    )
    demo.screenshot("picker-slurm-check", picker)

    picker.locator(".cw-profile[data-name='hpc'] button[data-action='edit']").click()
    type_in(picker, "walltime", "00:05:00")
    wait_until(lambda: demo.probe.eval("picker.entries.get('walltime')") == {"text": "00:05:00"}, 10, "walltime")
    editor.locator("button[data-action='save']").click()
    editor.wait_for(state="hidden", timeout=10_000)

    picker.locator("button[data-action='deep-check']").click()
    running = picker.locator(".cw-check[data-state='running']")
    running.wait_for(state="visible", timeout=10_000)
    assert picker.locator(".cw-spinner").count() == 1
    assert picker.locator("button[data-action='deep-check']").is_disabled()  # no second Slurm job
    assert "Deep check of “hpc”: checking…" in running.inner_text()
    demo.screenshot("picker-deep-check-running", picker)
    done = picker.locator(".cw-check[data-state='done'], .cw-check[data-state='failed'], .cw-check[data-state='timeout']")
    done.wait_for(state="visible", timeout=330_000)
    assert done.get_attribute("data-state") == "done"
    demo.screenshot("picker-deep-check-done", picker)
    assert demo.probe.eval("picker.check_result['problems']") == [
        p for p in done.locator(".cw-problem").all_inner_texts()
    ]

    # a job on Slurm: its block shows with the Slurm job id squeue knows
    demo.probe.exec(
        "ProfileStore().save({**ProfileStore().get('hpc').model_dump(), 'exclusive': False})\n"
        "slurm_job = mgr.submit(bulk('Cu'), 'emt.relax_job', profile='hpc', relax_cell=False)"
    )
    blocks = picker.locator(".cw-blocks tbody tr")
    blocks.first.wait_for(state="visible", timeout=60_000)
    assert picker.locator(".cw-blocks th").nth(1).inner_text() == "Slurm job"
    slurm_id = blocks.first.locator("td").nth(1).inner_text()
    assert slurm_id.isdigit()
    name = subprocess.run(["squeue", "-h", "-j", slurm_id, "-o", "%j"], capture_output=True, text=True,
                          timeout=20).stdout.strip()
    assert name.startswith("parsl.cw-"), name  # the block is the Parsl executor's Slurm job
    demo.probe.wait_for("mgr.get(slurm_job.id).state.value", "completed", timeout=180)
    wait_until(lambda: blocks.first.locator("td").nth(2).inner_text() == "RUNNING", 20, "the block to run")
    demo.screenshot("picker-slurm-block-health", picker)

    # a block over the partition's MaxTime (submitted past the check): Slurm refuses it, or keeps
    # it pending forever under EnforcePartLimits=NO; either way its state and Slurm's words show
    demo.probe.exec(
        "ProfileStore().save({'kind': 'parsl-slurm', 'name': 'toolong', 'partition': 'short',"
        " 'walltime': '00:20:00', 'exclusive': False, 'preflight_on_submit': False})\n"
        "picker.refresh(); picker.value = 'toolong'\n"
        "stuck_job = mgr.submit(bulk('Cu'), 'emt.relax_job', profile='toolong', relax_cell=False)"
    )
    health = picker.locator(".cw-health")
    wait_until(
        lambda: re.search("PartitionTimeLimit|time limit is invalid", health.inner_text()), 60,
        "Slurm's reason in the block health",
    )
    state = picker.locator(".cw-blocks tbody tr").first.locator("td").nth(2).inner_text()
    assert state in ("SUBMIT_FAILED", "PENDING (never starts)")
    demo.screenshot("picker-slurm-block-never-starts", picker)
    demo.probe.wait_for("mgr.get(stuck_job.id).state.value", "failed", timeout=60)
