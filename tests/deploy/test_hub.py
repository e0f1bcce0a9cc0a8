"""JupyterHub with batchspawner on the local Slurm, as HPC centres run it, in real Chromium.

A user logs in; the hub submits the user's Jupyter server as a Slurm job under the user's
own uid (squeue says so); the quickstart notebook runs in that server's kernel, inside the
allocation: the viewer draws the crystal, the EMT job completes in the table, the picker
says the kernel runs in that Slurm job, and every request the page makes goes to the hub's
127.0.0.1 address under ``/user/<name>/`` (nothing from outside: HPC notebooks are often
offline). From the same kernel a ``parsl-slurm`` job gets a block of its own and completes.
Then the server's Slurm job ends under a running local and a running ``parsl-slurm`` job
(scancel, as at the end of its walltime): the user relaunches the server from the hub's
page, runs the notebook again, and sees what the new kernel made of the old one's jobs;
the picker lists the block the dead kernel left and its button cancels it.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from _lab import NotebookPage
from ase.build import bulk
from ase.calculators.emt import EMT

from tests.deploy.hub import REPO, UserServer
from tests.helpers import wait_until

pytestmark = [pytest.mark.slurm, pytest.mark.browser, pytest.mark.timeout(600)]

NOTEBOOK = "01-quickstart.ipynb"


@pytest.fixture(scope="module")
def session(hub, hub_browser):
    """The user logged in, its server up as a Slurm job, the quickstart run in it."""
    user = hub.user
    user.write(NOTEBOOK, (REPO / "notebooks" / NOTEBOOK).read_bytes())
    context = hub_browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto(f"{hub.url}/hub/login", timeout=60_000)
        page.fill("#username_input", user.name)
        page.fill("#password_input", hub.password)
        page.click("#login_submit")
        server_job = wait_until(
            hub.server_job, 60, f"the hub to submit {user.name}'s server to Slurm{_tail(hub)}", interval=0.25
        )
        page.wait_for_url(re.compile(rf"/user/{user.name}/lab"), timeout=180_000)
        assert hub.server_ready()
        server = UserServer(hub)
        notebook = NotebookPage(page, server, NOTEBOOK).open(timeout=120)
        notebook.run_all(timeout=300)
        yield {"page": page, "notebook": notebook, "server": server, "job": server_job, "requests": requests}
    finally:
        context.close()


def _tail(hub) -> str:
    return f"; hub log:\n{hub.log_tail(20)}"


def test_the_quickstart_runs_in_a_server_batchspawner_started_as_a_slurm_job(hub, session):
    user, job = hub.user, session["job"]
    notebook, server = session["notebook"], session["server"]
    panel, page = notebook.panel, session["page"]

    # the server is a Slurm job of the user, running (squeue, not the hub's word)
    (seen,) = [j for j in user.jobs() if j["id"] == job["id"]]
    assert seen["state"] == "RUNNING", seen

    viewer = panel.locator(".cw-viewer").first
    page.wait_for_function(
        "el => el.dataset.cwAtoms === '32' && el.dataset.cwAtomsOnCanvas",
        arg=viewer.element_handle(), timeout=60_000,
    )
    with server.probe(NOTEBOOK) as kernel:
        job_id = kernel.eval("job.id")
        assert kernel.eval("mgr.get(job.id).state.value") == "completed"
        # the kernel runs inside the server's allocation, as the user, on the user's own store
        assert kernel.eval("__import__('os').environ.get('SLURM_JOB_ID')") == job["id"]
        assert kernel.eval("__import__('getpass').getuser()") == user.name
        assert kernel.eval("str(mgr.store.path)").startswith(str(user.home) + "/")
    row = panel.locator(f".cw-table .cw-tr[data-id='{job_id}']")
    row.wait_for(timeout=30_000)
    wait_until(lambda: "completed" in row.inner_text(), 30, "the job's row to show completed")
    # the picker knows it runs inside the server's allocation
    allocation = panel.locator(".cw-picker .cw-allocation").first
    wait_until(lambda: job["id"] in allocation.inner_text(), 30, "the picker to name the server's Slurm job")
    notebook.screenshot("hub-quickstart")

    # every request went to the hub's address; the widgets' JavaScript came under /user/<name>/
    requests = session["requests"]
    outside = [u for u in requests if not u.startswith((f"{hub.url}/", "data:", "blob:", "about:"))]
    assert not outside, outside[:10]
    prefix = f"{hub.url}/user/{user.name}/"
    assert any(u.startswith(prefix) and "/lab/extensions/anywidget/" in u for u in requests), (
        [u for u in requests if "extensions" in u][:20]
    )


def test_a_parsl_slurm_job_from_the_hub_server_gets_a_block_of_its_own(hub, session):
    server, job = session["server"], session["job"]
    with server.probe(NOTEBOOK) as kernel:
        kernel.exec(
            "from crystalwidgets.profiles import ProfileStore\n"
            "from crystalwidgets.runners.parsl.profiles import ParslSlurmProfile\n"
            "ProfileStore().save(ParslSlurmProfile(name='hub-slurm', partition='debug', walltime='00:05:00',"
            " launcher='srun', exclusive=False, mem_per_node=1, max_workers_per_node=1, max_idletime=5,"
            " address='127.0.0.1'))\n"
            "nested = mgr.submit(bulk('Cu'), 'emt.static_job', 'hub-slurm')\n"
        )
        wait_until(lambda: kernel.eval("mgr.get(nested.id).state.is_terminal"), 240,
                   "the parsl-slurm job to end", interval=0.5)
        state, error = kernel.eval("(mgr.get(nested.id).state.value, mgr.get(nested.id).error)")
        assert state == "completed", error
        block = kernel.eval("(mgr.get(nested.id).engine_ref or {}).get('slurm_job_id')")
        energy = kernel.eval("mgr.get(nested.id).summary['energy_ev']")
    assert block and block != job["id"], block
    cu = bulk("Cu")
    cu.calc = EMT()
    assert energy == pytest.approx(cu.get_potential_energy(), abs=1e-8)


def test_the_servers_walltime_ends_the_next_server_sorts_out_its_jobs(hub, session, tmp_path):
    user, page, old = hub.user, session["page"], session["server"]
    old_server = session["job"]["id"]
    user.write("jobfuncs.py", (REPO / "tests" / "jobfuncs.py").read_bytes())  # the user's own job functions
    slow_started, block_started, block_go = (user.home / n for n in ("slow-started", "block-started", "block-go"))
    with old.probe(NOTEBOOK) as kernel:
        kernel.exec(
            "import jobfuncs\n"
            "from crystalwidgets.profiles import ProfileStore\n"
            "from crystalwidgets.runners.parsl.profiles import ParslSlurmProfile\n"
            "ProfileStore().save(ParslSlurmProfile(name='hub-block', partition='debug', walltime='00:05:00',"
            " exclusive=False, max_workers_per_node=1, cores_per_worker=1, max_idletime=30,"
            " address='127.0.0.1'))\n"
            "ended_ids = {\n"
            f"  'slow': mgr.submit(bulk('Cu'), jobfuncs.sleeping_job, 'allocation', seconds=600, marker={str(slow_started)!r}).id,\n"
            f"  'block': mgr.submit(bulk('Cu'), jobfuncs.sleeping_job, 'hub-block', seconds=0.5, marker={str(block_started)!r},"
            f" until={str(block_go)!r}).id,\n"
            "}\n"
        )
        ids = kernel.eval("ended_ids")
        wait_until(slow_started.exists, 120, "the local job to start on the allocation's core")
        wait_until(block_started.exists, 180, "the parsl-slurm job to start in its block")
        block = kernel.eval("mgr.get(ended_ids['block']).engine_ref['slurm_job_id']")

    # the walltime of the server's job ends
    subprocess.run(["scancel", old_server], check=True, timeout=30)
    wait_until(lambda: not [j for j in user.jobs() if j["id"] == old_server], 60, "the server's job to end")
    wait_until(lambda: not hub.server_ready(), 60, "the hub to see the server gone")
    assert [j["state"] for j in user.jobs() if j["id"] == block] == ["RUNNING"]  # a Slurm job of its own

    # the user relaunches it from the hub's page and runs the notebook again
    page.goto(f"{hub.url}/hub/home", timeout=60_000)
    page.click("#start")
    page.wait_for_url(re.compile(rf"/user/{user.name}/lab"), timeout=180_000)
    new_server = wait_until(hub.server_job, 60, "the new server's Slurm job")
    assert new_server["id"] != old_server
    server = UserServer(hub)
    notebook = NotebookPage(page, server, NOTEBOOK).open(timeout=120)
    notebook.run_all(timeout=300)
    panel = notebook.panel
    with server.probe(NOTEBOOK) as kernel:
        records = {k: kernel.eval(f"(mgr.get({v!r}).state.value, mgr.get({v!r}).error)") for k, v in ids.items()}
        # the local job died with the allocation: orphaned, naming it; the block's job lives on
        assert records["slow"][0] == "orphaned", records
        assert f"its kernel ran in Slurm job {old_server} on " in records["slow"][1], records
        assert records["block"][0] == "running", records
        block_go.write_text("go")
        wait_until(lambda: kernel.eval(f"mgr.get({ids['block']!r}).state.value") == "completed", 120,
                   "the reattached parsl-slurm job to complete")
    for job_id, shown in ((ids["slow"], "orphaned"), (ids["block"], "completed")):
        row = panel.locator(f".cw-table .cw-tr[data-id='{job_id}']")
        wait_until(lambda: shown in row.inner_text(), 30, f"the row of {job_id} to show {shown}")

    # the picker lists the block the dead kernel left; its button cancels it
    leftovers = panel.locator(".cw-picker .cw-leftovers").first
    item = leftovers.locator(f".cw-leftover[data-job-id='{block}']")
    item.wait_for(timeout=60_000)
    assert "hub-block" in item.inner_text()
    notebook.screenshot("hub-leftover-block", locator=panel.locator(".cw-picker").first)
    leftovers.locator("[data-action='cleanup-leftovers']").click()
    wait_until(lambda: f"Slurm job(s) {block}" in leftovers.inner_text(), 60, "the cleanup to say what it cancelled")
    wait_until(lambda: not [j for j in user.jobs() if j["id"] == block], 60, "the leftover block to leave squeue")
    assert not item.count()
