"""The bad-input catalogue: every case is refused with the message a user sees, and costs nothing.

Each case runs against one manager whose store already holds a completed job, and asserts
two things: the error names what was wrong and the fix (the message is matched as the user
reads it), and the refusal changed nothing of the store (its rows, the bytes of its SQLite
files), of the results dir or of ``profiles.json``. Opening a store that is not ours is
refused the same way: the file keeps its bytes and mode.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from ase import Atoms
from ase.build import bulk, molecule

from crystalwidgets import CrystalWidgetsError, JobManager, JobState
from crystalwidgets.errors import ProfileError, StoreError, UncheckedKwargsWarning
from crystalwidgets.profiles import ProfileStore
from tests.helpers import close_and_kill

NACL = bulk("NaCl", "rocksalt", a=5.64)


# -- the world each case runs in -----------------------------------------------------


class World:
    """A manager with one completed job, its profiles, and a scratch dir for input files."""

    def __init__(self, mgr: JobManager, scratch: Path, done: Any) -> None:
        self.mgr = mgr
        self.scratch = scratch
        self.done = done

    def file(self, name: str, data: str | bytes) -> Path:
        path = self.scratch / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    def snapshot(self) -> dict[str, Any]:
        """The store's rows and file bytes, the results dir and profiles.json."""
        store = self.mgr.store.path
        files = {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (store, store.with_name(store.name + "-wal"))  # -shm is readers' scratch
            if p.exists()
        }
        conn = sqlite3.connect(f"file:{quote(str(store))}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
            rows = {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"'))) for t in tables}
        finally:
            conn.close()
        results = sorted(
            (str(p.relative_to(self.mgr.results_dir)), p.stat().st_size if p.is_file() else -1)
            for p in self.mgr.results_dir.rglob("*")
        )
        profiles = self.mgr.profiles.path
        return {
            "files": files,
            "rows": rows,
            "results": results,
            "profiles": profiles.read_bytes() if profiles.exists() else None,
            "records": sorted(r.id for r in self.mgr.jobs()),
        }


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("catalogue")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRYSTALWIDGETS_HOME", str(root / "home"))
        mp.setenv("CRYSTALWIDGETS_CONFIG", str(root / "config"))
        store = ProfileStore()
        # a profile that cannot run any job here: more cores per worker than the machine has
        store.save({"kind": "parsl-local", "name": "too-wide", "cores_per_worker": 4096})
        mgr = JobManager(monitor_interval=0.5)
        job = mgr.submit(bulk("Cu"), "emt.static_job", label="kept")
        (done,) = mgr.wait([job.id], timeout=120)
        assert done.state is JobState.COMPLETED, done.error
        scratch = root / "inputs"
        scratch.mkdir()
        yield World(mgr, scratch, done)
        close_and_kill(mgr)


def _deep(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"a": value}
    return value


def _disordered() -> Any:
    from pymatgen.core import Lattice, Structure

    return Structure(Lattice.cubic(3.6), [{"Cu": 0.5, "Au": 0.5}], [[0, 0, 0]])


# -- the catalogue: (what is done, the message the user sees) -----------------------

Case = tuple[Callable[[World], Any], str]

STRUCTURES: dict[str, Case] = {
    "truncated CIF": (
        lambda w: w.mgr.submit(w.file("broken.cif", "data_x\n_cell_length_a 3.6\nloop_\n_atom_site_label\n"), "emt.static_job"),
        r"cannot read '.*broken\.cif' as CIF \(format='cif'\): the file is truncated or not a readable CIF file",
    ),
    "no atoms": (lambda w: w.mgr.submit(Atoms(), "emt.static_job"), r"the given Atoms holds no atoms: a calculation needs at least one"),
    "missing file": (
        lambda w: w.mgr.submit(w.scratch / "missing.xyz", "emt.static_job"),
        r"cannot read '.*missing\.xyz' as XYZ \(format='xyz'\): no such file .*check the path",
    ),
    "a directory": (lambda w: w.mgr.submit(w.scratch, "emt.static_job"), r"it is a directory, not a file.*pass the path of one file"),
    "empty file": (lambda w: w.mgr.submit(w.file("empty.cif", ""), "emt.static_job"), r"the file is empty \(0 bytes\)"),
    "binary garbage": (
        lambda w: w.mgr.submit(w.file("garbage.cif", os.urandom(64) + b"\0"), "emt.static_job"),
        r"garbage\.cif' as CIF \(format='cif'\): it holds binary data, not CIF text",
    ),
    "xyz claiming 10^9 atoms": (
        lambda w: w.mgr.submit(w.file("big.xyz", "1000000000\nc\nH 0 0 0\nH 0 0 0.74\n"), "emt.static_job"),
        r"big\.xyz' as XYZ \(format='xyz'\): line 1 says its frame has 1,000,000,000 atoms, but the 21 bytes after it hold at most 2 atom lines; make it the number of 'symbol x y z' lines",
    ),
    "gzipped xyz claiming 10^9 atoms": (
        lambda w: w.mgr.submit(w.file("big.xyz.gz", gzip.compress(b"1000000000\nc\nH 0 0 0\n")), "emt.static_job"),
        r"line 1 says its frame has 1,000,000,000 atoms, but the file ends after 1 atom lines",
    ),
    "POSCAR claiming 10^9 atoms": (
        lambda w: w.mgr.submit(w.file("POSCAR", "x\n1.0\n3 0 0\n0 3 0\n0 0 3\nCu\n1000000000\nDirect\n0 0 0\n"), "emt.static_job"),
        r"line 7 says the cell holds 1,000,000,000 atoms, but the \d+ bytes after it hold at most \d+ position lines",
    ),
    "overlapping atoms": (
        lambda w: w.mgr.submit(Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 0.1]]), "emt.static_job"),
        r"atoms 0 \(Cu\) and 1 \(Cu\) \(counted from 0\) are 0\.100 Å apart.*closer than 0\.5 Å",
    ),
    "NaN position": (
        lambda w: w.mgr.submit(Atoms("Cu", positions=[[float("nan"), 0, 0]]), "emt.static_job"),
        r"atom 0 \(Cu\) has a non-finite position .*fix its coordinates",
    ),
    "periodic without a cell": (
        lambda w: w.mgr.submit(Atoms("Cu", pbc=True), "emt.static_job"),
        r"is periodic along .* but its cell vector .* is zero",
    ),
    "bytes without a name": (
        lambda w: w.mgr.submit(b"2\nx\nH 0 0 0\nH 0 0 0.74\n", "emt.static_job"),
        r"bytes carry no file name to tell the format; pass format=",
    ),
    "a number as a structure": (
        lambda w: w.mgr.submit(42, "emt.static_job"),
        r"cannot load a structure from a builtins\.int: pass a file path, bytes with format=",
    ),
    "disordered pymatgen structure": (
        lambda w: w.mgr.submit(_disordered(), "emt.static_job"),
        r"is disordered \(partially occupied sites\).*OrderDisorderedStructureTransformation",
    ),
    "elements EMT lacks": (
        lambda w: w.mgr.submit(NACL, "emt.relax_job"),
        r"emt\.relax_job cannot run on NaCl:\n  - structure: ASE's EMT has no parameters for Cl, Na .*e\.g\. tblite\.relax_job",
    ),
    "a molecule for the elastic tensor": (
        lambda w: w.mgr.submit(molecule("CO"), "emt.elastic.elastic_tensor_flow"),
        r"needs a structure with a full unit cell \(it strains the cell.*atoms\.center\(vacuum=6\.0\)",
    ),
    "a molecule for VASP": (
        lambda w: w.mgr.submit(molecule("H2O"), "vasp.static_job"),
        r"vasp\.static_job cannot run on H2O:.*VASP computes in a periodic box",
    ),
}

RECIPES: dict[str, Case] = {
    "misspelt recipe": (lambda w: w.mgr.submit(bulk("Cu"), "emt.relax_jbo"), r"unknown recipe 'emt\.relax_jbo'; did you mean 'emt\.relax_job'"),
    "not a recipe": (lambda w: w.mgr.submit(bulk("Cu"), "os.system"), r"'os\.system' is not a recipe: a name resolves only to one of quacc's recipes"),
    "a code, not a recipe": (lambda w: w.mgr.submit(bulk("Cu"), "emt"), r"'emt' is a code, not a recipe; recipes of emt: emt\.static_job"),
    "a full path that is no recipe": (
        lambda w: w.mgr.submit(bulk("Cu"), "quacc.recipes.emt.core.relax_jbo"),
        r"unknown recipe 'quacc\.recipes\.emt\.core\.relax_jbo'; did you mean 'quacc\.recipes\.emt\.core\.relax_job'",
    ),
    "a number as a recipe": (lambda w: w.mgr.submit(bulk("Cu"), 42), r"expected a recipe name such as 'emt\.relax_job' or a function, got int 42"),
}

VALUES: dict[str, Case] = {
    "text for a bool": (lambda w: w.mgr.submit(bulk("Cu"), "emt.relax_job", relax_cell="yes"), r"relax_cell: expected bool, got str 'yes'; use True or False"),
    "NaN tolerance": (
        lambda w: w.mgr.submit(bulk("Cu"), "emt.relax_job", opt_params={"fmax": float("nan")}),
        r"opt_params\['fmax'\]: nan is not a finite number; use a finite number such as 0\.05",
    ),
    "negative fmax": (lambda w: w.mgr.submit(bulk("Cu"), "emt.relax_job", opt_params={"fmax": -0.1}), r"opt_params\['fmax'\]: -0\.1 is too small; use a number greater than 0"),
    "negative max_steps": (
        lambda w: w.mgr.submit(bulk("Cu"), "emt.relax_job", opt_params={"max_steps": -5}),
        r"opt_params\['max_steps'\]: -5 is too small; use a whole number of at least 1",
    ),
    "misspelt key": (
        lambda w: w.mgr.submit(bulk("Cu"), "emt.relax_job", opt_params={"max_stepz": 3}),
        r"opt_params\['max_stepz'\]: not a key of .*; did you mean 'max_steps'\?",
    ),
    "misspelt parameter and a wrong type": (
        lambda w: w.mgr.submit(bulk("Cu"), "emt.slabs.bulk_to_slabs_flow", run_statc=True, job_params=3),
        r"2 problems with the parameters of emt\.slabs\.bulk_to_slabs_flow:\n  - run_statc: not a parameter of .*did you mean 'run_static'\?\n  - job_params: expected",
    ),
    "an object JSON cannot store": (
        lambda w: w.mgr.submit(bulk("Cu"), "emt.static_job", additional_fields={"a": [1, {"b": object()}]}),
        r"additional_fields\['a'\]\[1\]\['b'\]: holds a builtins\.object, which cannot be stored with the job",
    ),
    "data nested 1000 levels deep": (
        lambda w: w.mgr.submit(bulk("Cu"), "emt.static_job", additional_fields=_deep(1000)),
        r"additional_fields: nested (more than 100 levels deep|too deeply to check or store)",
    ),
    "the structure as a parameter": (
        lambda w: w.mgr.submit(bulk("Cu"), "emt.static_job", atoms=bulk("Cu")),
        r"atoms: this is the structure input; pass the structure separately",
    ),
    "calc_kwargs as one dict": (
        lambda w: w.mgr.submit(bulk("Cu"), "emt.static_job", calc_kwargs={"asap_cutoff": True}),
        r"calc_kwargs: give the entries of \*\*calc_kwargs as parameters of their own",
    ),
    "a fraction of a step": (lambda w: w.mgr.submit(bulk("Cu"), "emt.md.md_job", steps=2.5), r"steps: expected .*got float 2\.5; use the whole number|steps: expected"),
    "one bad job of a batch": (
        lambda w: w.mgr.submit_many([(bulk("Cu"), {}), (bulk("Al"), {"relax_cell": 1})], "emt.relax_job"),
        r"job 2 of 2: 1 problem with the parameters of emt\.relax_job:\n  - relax_cell: expected bool, got int 1; use True or False",
    ),
    "one unfit structure of a batch": (
        lambda w: w.mgr.submit_many([bulk("Cu"), NACL], "emt.static_job"),
        r"job 2 of 2: emt\.static_job cannot run on NaCl",
    ),
}


def _save(data: dict) -> Callable[[World], Any]:
    return lambda w: w.mgr.profiles.save(data)


PROFILES: dict[str, Case] = {
    "unknown profile": (
        lambda w: w.mgr.submit(bulk("Cu"), "emt.static_job", "cluster-that-is-not-there"),
        r"unknown profile 'cluster-that-is-not-there'; saved profiles are: local, too-wide",
    ),
    "a profile that cannot run jobs": (
        lambda w: w.mgr.submit(bulk("Cu"), "emt.static_job", "too-wide"),
        r"cores_per_worker: 4096 is more than the \d+ cores of this machine: no worker could start",
    ),
    "a sweep to a profile that cannot run jobs": (
        lambda w: w.mgr.submit_many([bulk("Cu"), bulk("Al")], "emt.static_job", "too-wide"),
        r"cores_per_worker: 4096 is more than",
    ),
    "a password field": (_save({"kind": "local", "name": "x", "password": "hunter2"}), r"field 'password' looks like a secret; profiles never store passwords"),
    "a token field": (_save({"kind": "parsl-slurm", "name": "x", "api_token": "s3cr3t"}), r"field 'api_token' looks like a secret"),
    "misspelt field": (_save({"kind": "local", "name": "x", "max_wokers": 2}), r"max_wokers: Extra inputs are not permitted"),
    "zero workers": (_save({"kind": "local", "name": "x", "max_workers": 0}), r"max_workers: Input should be greater than or equal to 1"),
    "walltime 25:99": (_save({"kind": "parsl-slurm", "name": "x", "walltime": "25:99"}), r"walltime: '25:99' is not a Slurm time: minutes and seconds count from 0 to 59"),
    "unknown kind": (_save({"kind": "pbs", "name": "x"}), r"profile 'x': unknown kind 'pbs'; use one of (\S+, )*local, parsl-local"),
    "a name with spaces": (_save({"kind": "local", "name": "my cluster"}), r"profile 'my cluster' is invalid: name: String should match pattern"),
    "min_blocks over max_blocks": (
        _save({"kind": "parsl-local", "name": "x", "min_blocks": 3, "max_blocks": 2}),
        r"min_blocks \(3\) is above max_blocks \(2\); lower min_blocks or raise max_blocks",
    ),
    "a shell line in scheduler_options": (
        _save({"kind": "parsl-slurm", "name": "x", "scheduler_options": "module load vasp"}),
        r"line 'module load vasp' is not an '#SBATCH \.\.\.' option; put shell commands in worker_init",
    ),
}

CATALOGUE = {**STRUCTURES, **RECIPES, **VALUES, **PROFILES}


def test_the_catalogue_is_at_least_forty_cases():
    assert len(CATALOGUE) >= 40, len(CATALOGUE)


@pytest.mark.parametrize("case", list(CATALOGUE))
def test_bad_input_is_refused_with_a_clear_message_and_nothing_changes(world, case):
    action, message = CATALOGUE[case]
    before = world.snapshot()
    with pytest.raises(CrystalWidgetsError) as err:
        action(world)
    assert re.search(message, str(err.value), re.S), f"the user reads:\n{err.value}"
    assert "Traceback" not in str(err.value)
    assert world.snapshot() == before, "a refusal changed the store, the results or the profiles"
    assert world.mgr.get(world.done.id).state is JobState.COMPLETED


# -- stores that are not ours: refused at open, the file untouched --------------------


def _foreign(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE other (x)")
    conn.commit()
    conn.close()


def _newer(path: Path) -> None:
    from crystalwidgets.jobs.store import SCHEMA_VERSION

    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE jobs (id TEXT)")
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()


STORES = {
    "random bytes": (lambda p: p.write_bytes(os.urandom(4096)), r"not a crystalwidgets job store"),
    "a foreign SQLite file": (_foreign, r"not a crystalwidgets job store.*not changed"),
    "a newer schema": (_newer, r"newer crystalwidgets.*not changed"),
    "a text file": (lambda p: p.write_text("hello\n"), r"not a crystalwidgets job store"),
}


@pytest.mark.parametrize("case", list(STORES))
def test_a_store_that_is_not_ours_is_refused_and_untouched(tmp_path, case):
    make, message = STORES[case]
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    path = home / "jobs.sqlite"
    make(path)
    os.chmod(path, 0o644)
    before = {p.name: (p.read_bytes(), p.stat().st_mode) for p in home.iterdir()}
    with pytest.raises(StoreError, match=re.compile(message, re.S)):
        JobManager(home)
    assert {p.name: (p.read_bytes(), p.stat().st_mode) for p in home.iterdir()} == before


def test_a_home_that_cannot_be_created_says_which_and_what_to_do(tmp_path, monkeypatch):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    monkeypatch.setenv("CRYSTALWIDGETS_HOME", str(blocker / "home"))
    with pytest.raises(CrystalWidgetsError, match=r"cannot create the directory .*; set CRYSTALWIDGETS_HOME to a writable directory"):
        JobManager()
    assert blocker.read_text() == ""


def test_a_profiles_file_that_is_not_json_is_named_and_kept(cw_home):
    store = ProfileStore()
    store.path.parent.mkdir(parents=True)
    store.path.write_text("{not json")
    with pytest.raises(ProfileError, match=r"profiles\.json is not a valid profiles file; fix or remove it"):
        store.save({"kind": "local", "name": "x"})
    assert store.path.read_text() == "{not json"


# -- what is accepted, and said ---------------------------------------------------------


def test_unknown_kwargs_of_a_calculator_pass_unchecked_with_a_warning(manager):
    with pytest.warns(UncheckedKwargsWarning, match="relax_cell"):
        rec = manager.submit(bulk("Cu"), "emt.relax_job", relax_cel=True)
    assert rec.params == {"relax_cel": True}


def test_profiles_never_store_a_refused_secret(cw_home):
    store = ProfileStore()
    with pytest.raises(ProfileError, match="secret"):
        store.save({"kind": "local", "name": "x", "password": "hunter2"})
    assert not store.path.exists()
    store.save({"kind": "local", "name": "x", "max_workers": 1})
    assert oct(store.path.stat().st_mode & 0o777) == "0o600"
    assert store.names() == ["local", "x"]
    assert Path(store.path).read_text().count("hunter2") == 0


def test_a_closed_manager_says_so_and_records_nothing(cw_home):
    mgr = JobManager(monitor_interval=0.5)
    job = mgr.submit(bulk("Cu"), "emt.static_job")
    mgr.wait([job.id], timeout=120)
    mgr.close()
    for call in (
        lambda: mgr.submit(bulk("Cu"), "emt.static_job"),
        lambda: mgr.submit_many([bulk("Cu"), bulk("Al")], "emt.static_job"),
        lambda: mgr.resubmit(job.id),
        lambda: mgr.cancel(job.id),
    ):
        with pytest.raises(CrystalWidgetsError, match=r"this JobManager is closed .*JobManager\(\)"):
            call()
    again = JobManager()
    try:
        assert [r.id for r in again.jobs()] == [job.id]  # nothing was recorded
    finally:
        again.close()


def test_resubmit_after_the_work_dir_was_deleted_uses_the_store(manager):
    import shutil

    from tests import jobfuncs

    cu = bulk("Cu", cubic=True)
    job = manager.submit(cu, "emt.relax_job", relax_cell=False, opt_params={"fmax": 0.05}, label="first")
    own = manager.submit(cu, jobfuncs.scaled_volume_job, factor=1.1)
    manager.wait([job.id, own.id], timeout=120)
    shutil.rmtree(job.work_dir)
    shutil.rmtree(own.work_dir)
    again = manager.resubmit(job.id)
    (done,) = manager.wait([again.id], timeout=120)
    assert done.state is JobState.COMPLETED, done.error
    assert (done.recipe, done.params, done.label) == ("emt.relax_job", manager.get(job.id).params, "first")
    assert done.structure_hash == job.structure_hash
    with pytest.raises(CrystalWidgetsError, match="is gone, and its recipe 'scaled_volume_job' is a function of your own"):
        manager.resubmit(own.id)
