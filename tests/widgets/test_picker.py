"""ClusterPicker, Python side: profiles on disk, the editor, errors per field, check, block health.

Every action goes through the widget's comm message handler, as a click in the browser
does, against a real ``profiles.json`` in the test's private CRYSTALWIDGETS_CONFIG. The
browser side is tested in tests/browser/test_picker.py.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from typing import ClassVar, Literal

import pytest
import traitlets
from ase.build import bulk

from crystalwidgets.profiles import Profile, ProfileStore, register_kind, unregister_kind
from crystalwidgets.widgets._picker import ClusterPicker, field_specs
from tests.helpers import wait_until


def browser_says(picker: ClusterPicker, kind: str, **content) -> None:
    """Deliver a custom message as the browser would (the comm's message handler)."""
    picker._handle_custom_msg({"kind": kind, **content}, [])


def type_into(picker: ClusterPicker, **texts: str) -> None:
    """Type into text fields as the browser reports them (one entry per field)."""
    picker.entries = {**picker.entries, **{name: {"text": text} for name, text in texts.items()}}


def wait_check(picker: ClusterPicker, timeout: float = 60) -> dict:
    wait_until(lambda: picker.check_result.get("state") != "running", timeout, "the check to end")
    return picker.check_result


@pytest.fixture
def store(cw_home) -> ProfileStore:
    return ProfileStore()


def saved(store: ProfileStore) -> dict:
    return json.loads(store.path.read_text()) if store.path.exists() else {}


# -- listing -------------------------------------------------------------------


def test_lists_local_first_with_kind_and_description(store):
    store.save({"kind": "parsl-threads", "name": "threads", "description": "many small jobs"})
    store.save({"kind": "local", "name": "big", "max_workers": 2, "description": "two at once"})
    picker = ClusterPicker()
    rows = {p["name"]: p for p in picker.profiles}
    assert picker.names() == ["local", "big", "threads"]
    assert rows["local"] == {"name": "local", "kind": "local", "description": "", "saved": False, "problem": ""}
    assert rows["threads"]["kind"] == "parsl-threads" and rows["threads"]["description"] == "many small jobs"
    assert rows["big"]["saved"] is True
    assert picker.value == "local"
    assert [k["kind"] for k in picker.kinds][:1] == ["local"]
    assert {"parsl-threads", "parsl-local", "parsl-slurm"} <= {k["kind"] for k in picker.kinds}
    assert all(k["summary"] for k in picker.kinds)


def test_value_must_name_a_profile(store):
    picker = ClusterPicker()
    with pytest.raises(traitlets.TraitError, match="unknown profile 'nope'; pick one of local"):
        picker.value = "nope"
    store.save({"kind": "local", "name": "laptop"})
    picker.value = "laptop"  # saved elsewhere after the picker read the list: found
    assert picker.names() == ["local", "laptop"]
    assert picker.profile().name == "laptop"


def test_a_broken_profile_is_listed_with_its_problem_and_the_rest_still_works(store):
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_text(json.dumps({
        "old": {"kind": "no-such-engine", "name": "old"},
        "ok": {"kind": "local", "name": "ok"},
    }))
    picker = ClusterPicker()
    rows = {p["name"]: p for p in picker.profiles}
    assert "unknown kind 'no-such-engine'" in rows["old"]["problem"]
    assert rows["ok"]["problem"] == ""
    browser_says(picker, "delete", name="old")
    assert picker.names() == ["local", "ok"]

    store.path.write_text("{not json")
    browser_says(picker, "refresh")
    assert picker.names() == ["local"]
    assert "is not a valid profiles file" in picker.status


# -- the editor: fields, errors per field, nothing saved on error ------------------


def test_fields_come_from_the_kind_model_with_help_and_kind_hidden():
    from crystalwidgets.runners.parsl.profiles import ParslSlurmProfile

    specs = {f["name"]: f for f in field_specs(ParslSlurmProfile)}
    order = [f["name"] for f in field_specs(ParslSlurmProfile)]
    assert "kind" not in specs
    assert order[:3] == ["name", "description", "nodes_per_block"]  # the kind's own fields first
    site = order.index("partition")  # then where its Slurm blocks go (shared by the Slurm kinds)
    assert order[site : site + 4] == ["partition", "account", "qos", "walltime"]
    assert site < order.index("cores_per_worker")
    assert order[-1] == "preflight_on_submit"
    assert specs["name"]["required"] is True
    assert specs["walltime"]["default"] == "00:30:00" and specs["walltime"]["type"]["kind"] == "str"
    assert specs["launcher"]["type"] == {"kind": "literal", "name": "Literal['srun', 'single-node', 'simple']",
                                        "values": ["srun", "single-node", "simple"]}
    assert specs["nodes_per_block"]["help"] == "Nodes in each block. Allowed: 1 to 100000."
    assert specs["cores_per_worker"]["help"].endswith("Allowed: more than 0, at most 4096.")
    assert specs["partition"]["optional"] and specs["partition"]["annotation"] == "str | None"
    assert specs["worker_init"]["multiline"] and not specs["description"]["multiline"]
    assert specs["exclusive"]["type"]["kind"] == "bool" and specs["exclusive"]["default"] is True


def test_new_profile_with_a_bad_value_shows_the_error_on_its_field_and_saves_nothing(store):
    picker = ClusterPicker()
    browser_says(picker, "new", profile_kind="local")
    assert picker.editor["mode"] == "new" and picker.editor["kind"] == "local"
    assert picker.entries == {"name": {"text": "local-2"}}  # "local" is taken: a free name
    type_into(picker, name="laptop", max_workers="0")
    assert picker.errors == {"max_workers": "Input should be greater than or equal to 1"}

    browser_says(picker, "save")  # pressed anyway: the store refuses it field by field
    assert picker.errors == {"max_workers": "Input should be greater than or equal to 1"}
    assert picker.status == "not saved: fix the fields marked in red"
    assert not store.path.exists()
    assert picker.names() == ["local"] and picker.editor  # the editor stays open, entries kept
    assert picker.entries["max_workers"] == {"text": "0"}

    type_into(picker, max_workers="two")
    assert "max_workers" in picker.errors and "valid integer" in picker.errors["max_workers"]

    type_into(picker, max_workers="2")
    assert picker.errors == {}
    browser_says(picker, "save")
    assert saved(store) == {"laptop": {"kind": "local", "name": "laptop", "description": "", "max_workers": 2}}
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert picker.names() == ["local", "laptop"]
    assert picker.value == "laptop"
    assert picker.editor == {} and picker.errors == {}
    assert picker.status.startswith("saved 'laptop' to ")


def test_every_problem_of_a_slurm_profile_lands_on_its_field(store):
    picker = ClusterPicker()
    browser_says(picker, "new", profile_kind="parsl-slurm")
    type_into(picker, name="hpc", walltime="forever", partition="debug; rm -rf /", nodes_per_block="0")
    errors = dict(picker.errors)
    assert set(errors) == {"walltime", "partition", "nodes_per_block"}
    assert "must be one word" in errors["partition"]
    assert "greater than or equal to 1" in errors["nodes_per_block"]
    browser_says(picker, "save")
    assert picker.errors == errors and not store.path.exists()

    # a rule across fields concerns the whole profile: shown above the fields
    type_into(picker, walltime="00:10:00", partition="", nodes_per_block="1", min_blocks="3", max_blocks="2")
    assert list(picker.errors) == ["profile"]
    assert "min_blocks (3) is above max_blocks (2)" in picker.errors["profile"]

    type_into(picker, min_blocks="0", worker_init="module load python\nsource ~/venv/bin/activate")
    browser_says(picker, "save")
    data = saved(store)["hpc"]
    assert data["partition"] is None  # emptied optional field: not set
    assert data["worker_init"] == "module load python\nsource ~/venv/bin/activate"
    assert data["walltime"] == "00:10:00" and data["max_blocks"] == 2


def test_secrets_are_refused_and_nothing_is_written(store):
    store.save({"kind": "local", "name": "laptop"})
    before = store.path.read_bytes()
    picker = ClusterPicker()
    browser_says(picker, "new", profile_kind="parsl-slurm")
    picker.entries = {**picker.entries, "api_token": {"text": "s3cr3t"}}
    assert "api_token" in picker.errors
    assert "looks like a secret" in picker.errors["api_token"]
    browser_says(picker, "save")
    assert "looks like a secret" in picker.errors["api_token"]
    assert store.path.read_bytes() == before
    assert b"s3cr3t" not in store.path.read_bytes()

    picker.entries = {k: v for k, v in picker.entries.items() if k != "api_token"}
    picker.entries = {**picker.entries, "password": {"text": "hunter2"}}
    browser_says(picker, "save")
    assert "looks like a secret" in picker.errors["password"]
    assert store.path.read_bytes() == before


def test_a_new_profile_never_replaces_another_by_name(store):
    store.save({"kind": "local", "name": "laptop", "max_workers": 2})
    picker = ClusterPicker()
    browser_says(picker, "new", profile_kind="parsl-threads")
    type_into(picker, name="laptop")
    assert "a profile named 'laptop' exists already" in picker.errors["name"]
    browser_says(picker, "save")
    assert saved(store)["laptop"]["kind"] == "local"

    type_into(picker, name="local")
    assert "kept for the local kind" in picker.errors["name"]
    browser_says(picker, "close")
    assert picker.editor == {} and picker.entries == {} and picker.errors == {}

    # a local-kind profile may be saved over the built-in local (that is how it is configured)
    browser_says(picker, "edit", name="local")
    assert picker.editor["mode"] == "edit" and picker.editor["original"] == "local"
    type_into(picker, max_workers="1")
    browser_says(picker, "save")
    assert saved(store)["local"]["max_workers"] == 1
    assert {p["name"]: p["saved"] for p in picker.profiles}["local"] is True


def test_edit_fills_the_fields_and_renaming_moves_the_profile(store):
    store.save({"kind": "parsl-slurm", "name": "hpc", "partition": "short", "walltime": "00:05:00",
                "launcher": "srun", "exclusive": False, "description": "the short queue"})
    picker = ClusterPicker(value="hpc")
    browser_says(picker, "edit", name="hpc")
    assert picker.editor["original"] == "hpc" and picker.editor["kind"] == "parsl-slurm"
    assert picker.entries == {
        "name": {"text": "hpc"},
        "description": {"text": "the short queue"},
        "partition": {"text": "short"},
        "walltime": {"text": "00:05:00"},
        "launcher": {"choice": 0},
        "exclusive": {"checked": False},
    }  # fields at their default stay "use default"
    assert picker.errors == {}
    type_into(picker, name="short-queue")
    browser_says(picker, "save")
    data = saved(store)
    assert list(data) == ["short-queue"]
    assert data["short-queue"]["launcher"] == "srun" and data["short-queue"]["partition"] == "short"
    assert picker.value == "short-queue"
    assert picker.status.startswith("saved 'short-queue' (was 'hpc')")


def test_delete_removes_a_saved_profile_but_never_the_built_in_local(store):
    store.save({"kind": "local", "name": "laptop"})
    picker = ClusterPicker(value="laptop")
    browser_says(picker, "delete", name="local")
    assert "cannot be deleted" in picker.status
    assert picker.names() == ["local", "laptop"]

    browser_says(picker, "delete", name="laptop")
    assert saved(store) == {} and picker.names() == ["local"]
    assert picker.value == "local" and picker.status == "deleted 'laptop'"
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600

    store.save({"kind": "local", "name": "local", "max_workers": 1})  # saved over
    browser_says(picker, "refresh")
    browser_says(picker, "delete", name="local")
    assert picker.status == "deleted 'local' (the built-in local profile is back)"
    assert picker.names() == ["local"] and picker.profile().max_workers is None


# -- check -----------------------------------------------------------------------


def test_check_runs_in_a_thread_and_shows_each_problem(store):
    cores = os.cpu_count() or 1
    store.save({"kind": "local", "name": "greedy", "max_workers": 4 * cores + 1})
    store.save({"kind": "local", "name": "laptop", "max_workers": 1})
    picker = ClusterPicker(value="greedy")
    browser_says(picker, "check")
    assert picker.check_result["state"] in ("running", "done")
    result = wait_check(picker)
    assert result["state"] == "done" and result["profile"] == "greedy" and result["deep"] is False
    assert len(result["problems"]) == 1
    assert result["problems"][0].startswith(f"max_workers: {4 * cores + 1} is far above")

    picker.value = "laptop"
    assert picker.check_result == {}  # a finished result belongs to the profile it checked
    browser_says(picker, "check", deep=True)
    result = wait_check(picker)
    assert result["state"] == "done" and result["problems"] == [] and result["deep"] is True
    assert result["finished"] >= result["started"]


def test_check_of_the_unsaved_editor_settings(store):
    picker = ClusterPicker()
    browser_says(picker, "new", profile_kind="parsl-threads")
    type_into(picker, name="threads", max_threads="1000")
    browser_says(picker, "check", draft=True)
    result = wait_check(picker)
    assert result["profile"] == "threads (unsaved)"
    assert result["problems"][0].startswith("max_threads: 1000 is far above this machine's")
    assert not store.path.exists()

    type_into(picker, max_threads="0")
    browser_says(picker, "check", draft=True)
    assert picker.check_result["profile"] == "threads (unsaved)"  # the old result stays
    assert picker.status == "fix the fields marked in red before checking"


@pytest.fixture
def slow_kind():
    """A real profile kind whose pre-flight check takes 30 s (a cluster that does not answer)."""

    @register_kind
    class SlowProfile(Profile):
        kind: Literal["test-slow"] = "test-slow"
        runner: ClassVar[str] = "crystalwidgets.runners.local:LocalRunner"

        def check(self, *, deep: bool = False) -> list[str]:
            time.sleep(30)
            return []

    yield SlowProfile
    unregister_kind("test-slow")


def test_a_check_that_hangs_never_blocks_the_kernel_and_is_reported_unfinished(store, slow_kind):
    store.save({"kind": "test-slow", "name": "stuck"})
    picker = ClusterPicker(value="stuck", check_timeout=1.0)
    started = time.monotonic()
    browser_says(picker, "check")
    assert time.monotonic() - started < 0.5  # the handler returned at once
    assert picker.check_result["state"] == "running"
    result = wait_check(picker, timeout=10)
    assert time.monotonic() - started < 5
    assert result["state"] == "timeout"
    assert result["message"].startswith("the check did not finish within 1 s")


@pytest.fixture
def acting_kind():
    """A real profile kind with two actions: one that works after a moment, one that hangs."""

    @register_kind
    class ActingProfile(Profile):
        kind: Literal["test-acting"] = "test-acting"
        runner: ClassVar[str] = "crystalwidgets.runners.local:LocalRunner"
        started: ClassVar[list] = []

        def actions(self) -> list[dict[str, str]]:
            return [{"name": "start", "label": "Start it", "help": "starts it"},
                    {"name": "hang", "label": "Hang", "help": "never ends"}]

        def action_timeout(self, name: str) -> float:
            return 1.0

        def run_action(self, name: str) -> str:
            if name == "start":
                time.sleep(0.3)
                type(self).started.append(self.name)
                return "it started"
            if name == "hang":
                time.sleep(30)
            return super().run_action(name)

    yield ActingProfile
    unregister_kind("test-acting")


def test_a_profiles_actions_are_offered_run_off_the_kernels_thread_and_followed_by_a_check(store, acting_kind):
    store.save({"kind": "test-acting", "name": "act"})
    picker = ClusterPicker()
    assert picker.actions == []  # local offers none
    picker.value = "act"
    assert [a["label"] for a in picker.actions] == ["Start it", "Hang"]
    started = time.monotonic()
    browser_says(picker, "action", name="start")
    assert time.monotonic() - started < 0.2 and picker.action_result["state"] == "running"
    browser_says(picker, "action", name="start")  # a second click while it runs does nothing
    assert "still running" in picker.status
    wait_until(lambda: picker.action_result["state"] != "running", 10, "the action to end")
    assert picker.action_result["state"] == "done" and picker.action_result["message"] == "it started"
    assert acting_kind.started == ["act"]
    assert wait_check(picker)["state"] == "done"  # a check followed: the user sees what changed

    browser_says(picker, "action", name="hang")
    wait_until(lambda: picker.action_result["state"] != "running", 10, "the action to time out")
    assert picker.action_result["state"] == "timeout"
    assert picker.action_result["message"].startswith("it did not finish within 1 s")

    browser_says(picker, "action", name="os.system")  # not offered: refused, nothing runs
    assert picker.status == "profile 'act' offers no action 'os.system'"


def test_the_covalent_profile_offers_its_local_server_and_says_when_covalent_is_missing(store):
    import importlib.util

    store.save({"kind": "covalent", "name": "cov"})
    picker = ClusterPicker(value="cov")
    assert [a["name"] for a in picker.actions] == ["start-server", "stop-server"]
    assert "covalent-server" in picker.actions[0]["help"]  # where its config and logs are
    store.save({"kind": "covalent", "name": "mine", "server_address": "http://localhost:48008"})
    picker.value = "mine"
    assert picker.actions == []  # the user's own server: theirs to start
    if importlib.util.find_spec("covalent") is None:  # this venv (Covalent has its own)
        picker.value = "cov"
        browser_says(picker, "action", name="start-server")
        wait_until(lambda: picker.action_result["state"] != "running", 10, "the action to end")
        assert picker.action_result["state"] == "failed"
        assert "pip install 'crystalwidgets[covalent]'" in picker.action_result["message"]


@pytest.mark.skipif(shutil.which("sinfo") is None, reason="needs Slurm (start ../shared/slurm/start-slurm.sh beside the clone)")
def test_a_slurm_profile_check_lists_every_problem_naming_the_field(store):
    import subprocess

    if subprocess.run(["sinfo", "-h"], capture_output=True, timeout=20).returncode != 0:
        pytest.skip("Slurm is installed but not running (start ../shared/slurm/start-slurm.sh beside the clone)")
    store.save({"kind": "parsl-slurm", "name": "hpc", "partition": "short", "walltime": "02:00:00"})
    picker = ClusterPicker(value="hpc")
    browser_says(picker, "check")
    result = wait_check(picker, timeout=120)
    assert result["state"] == "done"
    assert any(p.startswith("walltime: 02:00:00 is over partition short's MaxTime") for p in result["problems"])

    browser_says(picker, "edit", name="hpc")
    type_into(picker, partition="nosuchpartition")
    browser_says(picker, "check", draft=True)
    result = wait_check(picker, timeout=120)
    assert any(p.startswith("partition: Slurm has no partition 'nosuchpartition'") for p in result["problems"])


# -- block health --------------------------------------------------------------


def test_no_health_without_a_runner_exposing_it(manager):
    picker = ClusterPicker()
    assert picker.health == {}
    picker = ClusterPicker(manager)
    assert picker.health == {}  # no runner yet
    job = manager.submit(bulk("Cu"), "emt.relax_job", relax_cell=False)
    manager.wait([job.id], timeout=120)
    browser_says(picker, "refresh")
    assert picker.health == {}  # the local runner has no blocks


def test_health_of_a_live_parsl_runner_shows_its_blocks(manager):
    manager.profiles.save({"kind": "parsl-local", "name": "htex", "max_workers_per_node": 1})
    picker = ClusterPicker(manager, value="htex")
    assert picker.health == {}
    job = manager.submit(bulk("Cu"), "emt.relax_job", profile="htex", relax_cell=False)
    done = manager.wait([job.id], timeout=180)[0]
    assert done.state.value == "completed", done.error

    def blocks_shown():
        browser_says(picker, "refresh")  # the browser's timer
        return picker.health.get("blocks")

    wait_until(blocks_shown, 30, "the blocks in the picker's health", interval=0.5)
    health = picker.health
    assert health["profile"] == "htex" and health["kind"] == "parsl-local"
    assert health["engine"] == "ready"
    block = health["blocks"][0]
    assert block["state"] in ("RUNNING", "PENDING") and block["job_id"]
    assert isinstance(health["age_s"], int)
    json.dumps(health)

    picker.value = "local"
    assert picker.health == {}


def test_what_the_widget_sends_is_json(store):
    sent = []

    picker = ClusterPicker()
    picker.comm.publish_msg = lambda msg_type, data=None, **kw: sent.append(json.dumps(data))
    browser_says(picker, "new", profile_kind="parsl-slurm")
    type_into(picker, name="x", walltime="bad")
    browser_says(picker, "save")
    assert sent and all(isinstance(s, str) for s in sent)
    assert any('"walltime"' in s for s in sent)  # the error went out, as JSON


def test_secret_looking_text_is_warned_about_at_the_field_at_check_and_at_save(store):
    picker = ClusterPicker()
    browser_says(picker, "new", profile_kind="parsl-local")
    type_into(picker, name="tok", worker_init="module load python\nexport GITHUB_TOKEN=ghp_" + "x" * 36)
    assert picker.errors == {}  # a warning, not a refusal: the user may mean it
    assert picker.warnings["worker_init"].startswith("line 2 holds what looks like a secret: GITHUB_TOKEN=...")
    assert "$(cat ~/.config/mytoken)" in picker.warnings["worker_init"]
    assert "x" * 36 not in json.dumps(picker.warnings)  # the secret itself is never repeated
    browser_says(picker, "save")
    assert picker.status.startswith("saved 'tok'")
    assert "; warning: worker_init: line 2 holds what looks like a secret" in picker.status
    assert picker.warnings == {}  # the editor closed
    browser_says(picker, "check", deep=False, draft=False)
    result = wait_check(picker)
    assert [w.split(":")[0] for w in result["warnings"]] == ["worker_init"]
    type_free = ProfileStore.validate({"kind": "parsl-local", "name": "ok", "worker_init": "export TOKEN=$(cat ~/.t)"})
    assert type_free.warnings() == []  # read at run time: nothing to warn about
