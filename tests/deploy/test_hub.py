"""JupyterHub with batchspawner on the local Slurm, as HPC centres run it, in real Chromium.

A user logs in; the hub submits the user's Jupyter server as a Slurm job under the user's
own uid (squeue says so); the quickstart notebook runs in that server's kernel, inside the
allocation: the viewer draws the crystal, the EMT job completes in the table, the picker
says the kernel runs in that Slurm job, and every request the page makes goes to the hub's
127.0.0.1 address under ``/user/<name>/`` (nothing from outside: HPC notebooks are often
offline). From the same kernel a ``parsl-slurm`` job gets a block of its own and completes.
"""

from __future__ import annotations

import re

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
            lambda: next((j for j in user.jobs() if j["name"] == "cw-hub-server"), None),
            60, f"the hub to submit {user.name}'s server to Slurm{_tail(hub)}", interval=0.25,
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
