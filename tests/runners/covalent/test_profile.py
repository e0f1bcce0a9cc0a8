"""The ``covalent`` kind: validation, the status mapping, and the bounded server check."""

from __future__ import annotations

import time

import pytest

from crystalwidgets.errors import ProfileError
from crystalwidgets.profiles import ProfileStore, kind_names, parse_profile
from crystalwidgets.runners.covalent.profiles import CovalentProfile, local_server
from crystalwidgets.runners.covalent.runner import job_state
from crystalwidgets.states import JobState
from tests.runners.covalent.support import HAVE_COVALENT, NO_COVALENT, SilentServer, free_port

pytestmark = pytest.mark.skipif(not HAVE_COVALENT, reason=NO_COVALENT)


def test_kind_is_built_in_and_saved_like_any_profile(cw_home):
    assert "covalent" in kind_names()
    store = ProfileStore()
    store.save({"kind": "covalent", "name": "cov", "server_address": "http://localhost:48008/", "executor": "dask"})
    got = store.get("cov")
    assert isinstance(got, CovalentProfile)
    assert got.server_address == "http://localhost:48008" and got.executor == "dask"


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("server_address", "localhost:48008", ["server_address", "http://HOST:PORT", "leave it empty"]),
        ("executor", "slurm", ["executor", "'local' or 'dask'"]),
        ("call_timeout_s", 0, ["call_timeout_s", "greater than 0"]),
    ],
)
def test_bad_fields_are_refused_naming_the_field_and_the_fix(field, value, words):
    with pytest.raises(ProfileError) as err:
        parse_profile({"kind": "covalent", "name": "c", field: value})
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize(
    "status, state",
    [
        ("NEW_OBJECT", JobState.PENDING),
        ("STARTING", JobState.PENDING),
        ("RUNNING", JobState.RUNNING),
        ("COMPLETED", JobState.COMPLETED),
        ("FAILED", JobState.FAILED),
        ("CANCELLED", JobState.CANCELLED),
        ("POSTPROCESSING_FAILED", JobState.FAILED),
        ("SOMETHING_NEW", JobState.FAILED),
    ],
)
def test_covalent_statuses_map_onto_job_states(status, state):
    assert job_state(status) is state


def test_check_says_at_once_when_nothing_listens():
    profile = CovalentProfile(name="c", server_address=f"http://127.0.0.1:{free_port()}")
    t0 = time.monotonic()
    problems = profile.check()
    assert time.monotonic() - t0 < 1
    assert len(problems) == 1 and problems[0].startswith("server_address: no Covalent server answers at")
    assert "covalent start" in problems[0]


def test_check_of_a_server_that_never_answers_is_bounded():
    silent = SilentServer()
    try:
        profile = CovalentProfile(name="c", server_address=silent.address, call_timeout_s=0.5)
        t0 = time.monotonic()
        problems = profile.check()
        took = time.monotonic() - t0
    finally:
        silent.close()
    assert 0.4 < took < 2, took
    assert len(problems) == 1 and "accepted the connection but sent no answer within 0.5 s" in problems[0]


def test_check_of_a_live_server_finds_nothing(covalent_server):
    assert CovalentProfile(name="c", server_address=covalent_server).check() == []


def test_check_of_the_local_server_says_it_is_not_running_and_where_its_files_are(cw_home):
    profile = CovalentProfile(name="c", local_port=free_port())
    (problem,) = profile.check()
    assert problem.startswith("server_address: the local Covalent server is not running")
    assert str(cw_home / "covalent-server" / "config" / "covalent.conf") in problem
    assert "starts on the first submit" in problem
    assert profile.preflight() == []  # the runner starts it: no reason to refuse a submit


def test_the_picker_starts_and_stops_the_local_server_and_the_check_then_passes(cw_home):
    """The ClusterPicker's "Start local server" (bounded, off the kernel's thread) brings the
    local server up, the check that follows finds nothing, and "Stop" takes it down."""
    from crystalwidgets.profiles import ProfileStore
    from crystalwidgets.widgets import ClusterPicker
    from tests.helpers import wait_until

    store = ProfileStore()
    store.save({"kind": "covalent", "name": "cov", "local_port": free_port()})
    picker = ClusterPicker(profiles=store, value="cov")
    assert [a["name"] for a in picker.actions] == ["start-server", "stop-server"]
    assert str(cw_home / "covalent-server") in picker.actions[0]["help"]  # where its config and log are

    picker._handle_custom_msg({"kind": "action", "name": "start-server"}, [])
    assert picker.action_result["state"] == "running"  # the kernel did not wait for it
    server = local_server(store.get("cov"), cw_home)
    try:
        wait_until(lambda: picker.action_result.get("state") != "running", 150, "the server to start")
        assert picker.action_result["state"] == "done", picker.action_result
        assert picker.action_result["message"].startswith("the local Covalent server started at http://localhost:")
        assert server.running()
        wait_until(lambda: picker.check_result.get("state") == "done", 30, "the check after the start")
        assert picker.check_result["problems"] == []
    finally:
        picker._handle_custom_msg({"kind": "action", "name": "stop-server"}, [])
        wait_until(lambda: picker.action_result.get("action") == "stop-server"
                   and picker.action_result.get("state") != "running", 60, "the server to stop")
    assert picker.action_result["state"] == "done", picker.action_result
    assert not server.running(timeout=1) and server.pid() is None
    wait_until(lambda: picker.check_result.get("state") == "done", 30, "the check after the stop")
    assert "the local Covalent server is not running" in picker.check_result["problems"][0]
