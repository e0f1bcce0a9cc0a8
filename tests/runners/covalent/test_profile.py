"""The ``covalent`` kind: validation, the status mapping, and the bounded server check."""

from __future__ import annotations

import time

import pytest

from crystalwidgets.errors import ProfileError
from crystalwidgets.profiles import ProfileStore, kind_names, parse_profile
from crystalwidgets.runners.covalent.profiles import CovalentProfile
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
