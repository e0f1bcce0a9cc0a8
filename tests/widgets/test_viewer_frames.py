"""Trajectory playback in the StructureViewer and the job details, Python side: frames come
from real quacc EMT relaxations, compared with what the recipe returned. The drawing, the
slider and the force arrows are in tests/browser/test_viewer_frames.py."""

from __future__ import annotations

import os

import numpy as np
import pytest
import traitlets
from ase.build import bulk

from crystalwidgets import JobState
from crystalwidgets.jobs.frames import FRAMES
from crystalwidgets.structures.trajectory import MAX_ATOM_FRAMES, Frames, kept_indices
from crystalwidgets.widgets import StructureViewer
from crystalwidgets.widgets._table import JobTable
from tests.helpers import wait_until


def rattled_cu():
    atoms = bulk("Cu", cubic=True) * (2, 2, 2)
    atoms.rattle(0.1, seed=7)
    return atoms


@pytest.fixture(scope="module")
def relaxed(tmp_path_factory):
    """What quacc's EMT relax_job returns for a rattled Cu supercell (run here, in-process)."""
    from quacc import change_settings
    from quacc.recipes.emt.core import relax_job

    with change_settings({"RESULTS_DIR": tmp_path_factory.mktemp("quacc")}):
        return relax_job(rattled_cu(), relax_cell=False)


def test_frames_of_a_real_relaxation_are_its_trajectory(relaxed):
    steps = relaxed["trajectory"]
    viewer = StructureViewer(relaxed["atoms"], trajectory=steps)
    frames = viewer.trajectory
    assert viewer.frames == len(steps) == len(relaxed["trajectory_results"]) >= 3
    assert viewer.frame == len(steps) - 1  # the final structure, as shown before
    for k in (0, 1, len(steps) - 1):
        assert np.allclose(frames.positions[k], steps[k].positions, atol=1e-5)
        assert np.allclose(frames.forces[k], relaxed["trajectory_results"][k]["forces"], atol=1e-5)
        assert frames.energies[k] == pytest.approx(relaxed["trajectory_results"][k]["energy"])
    # what the browser gets: float32 positions and forces of every frame, one buffer each
    n = len(relaxed["atoms"])
    positions = np.frombuffer(viewer._frame_positions, dtype=np.float32).reshape(-1, n, 3)
    assert positions.shape[0] == len(steps) and np.allclose(positions[1], steps[1].positions, atol=1e-5)
    forces = np.frombuffer(viewer._frame_forces, dtype=np.float32).reshape(-1, n, 3)
    assert np.allclose(forces[0], relaxed["trajectory_results"][0]["forces"], atol=1e-5)
    meta = viewer._frames_meta
    assert meta["steps"] == list(range(len(steps))) and meta["cells"] is None  # fixed cell
    fmax0 = np.linalg.norm(relaxed["trajectory_results"][0]["forces"], axis=1).max()
    assert meta["max_forces"][0] == pytest.approx(fmax0, rel=1e-5) and meta["max_forces"][-1] < fmax0


def test_selection_and_measurement_follow_the_frame(relaxed):
    steps = relaxed["trajectory"]
    viewer = StructureViewer(relaxed["atoms"], trajectory=steps, selected=[0, 5])
    viewer.frame = 0
    assert viewer.selected == [0, 5]  # the same atoms
    assert viewer.selection_info[1]["position"] == pytest.approx(steps[0].positions[5], abs=1e-5)
    assert viewer.measurement["value"] == pytest.approx(steps[0].get_distance(0, 5, mic=True), abs=1e-5)
    viewer.frame = len(steps) - 1
    assert viewer.measurement["value"] == pytest.approx(steps[-1].get_distance(0, 5, mic=True), abs=1e-5)
    assert steps[0].get_distance(0, 5, mic=True) != pytest.approx(steps[-1].get_distance(0, 5, mic=True), abs=1e-4)
    viewer.supercell = (2, 1, 1)  # drawn in the browser: the frame and the selection stay
    assert viewer.frame == len(steps) - 1 and viewer.selected == [0, 5]


def test_frame_is_checked_and_a_new_structure_drops_the_trajectory(relaxed):
    viewer = StructureViewer(relaxed["atoms"], trajectory=relaxed["trajectory"])
    with pytest.raises(traitlets.TraitError, match="out of range for a trajectory of"):
        viewer.frame = viewer.frames
    viewer.show_forces = True
    viewer.structure = bulk("Cu")
    assert viewer.frames == 0 and viewer.frame == 0 and viewer.trajectory is None
    assert viewer._frame_positions == b"" and viewer._frames_meta == {}
    with pytest.raises(traitlets.TraitError, match="no trajectory is shown"):
        viewer.frame = 1
    with pytest.raises(traitlets.TraitError, match="frames share their atoms"):
        viewer.trajectory = [bulk("Cu"), bulk("Al")]
    # a trajectory of other atoms than the structure shown brings its own structure
    viewer.trajectory = relaxed["trajectory"]
    assert len(viewer.structure) == 32 and viewer.frames == len(relaxed["trajectory"])


def test_long_trajectories_are_thinned_keeping_first_and_last():
    assert kept_indices(50, 10_000) == list(range(50))
    kept = kept_indices(5000, 10_000)
    assert kept[0] == 0 and kept[-1] == 4999 and len(kept) == MAX_ATOM_FRAMES // 10_000
    assert kept == sorted(set(kept))


def test_job_details_give_the_viewer_the_jobs_steps(manager):
    """A relaxation's details: its frames (from the job's frames file); a static job's: none."""
    table = JobTable(manager)
    table._handle_custom_msg({"kind": "snapshot"}, [])
    relax = manager.submit(rattled_cu(), "emt.relax_job", relax_cell=False)
    static = manager.submit(rattled_cu(), "emt.static_job")
    done = {rec.id: rec for rec in manager.wait([relax.id, static.id], timeout=180)}
    assert done[relax.id].state is JobState.COMPLETED, done[relax.id].error
    result = manager.result(relax.id)  # the whole result, as the recipe returned it
    steps = [_positions(frame) for frame in result["trajectory"]]
    n_steps = len(result["trajectory_results"])

    table.show_details(relax.id)
    viewer = wait_until(lambda: table.viewer if table.viewer and table.viewer.frames else None, 30, "frames")
    assert viewer.frames == len(steps) == n_steps == done[relax.id].summary["n_steps"] + 1
    frames = viewer.trajectory
    for k in range(viewer.frames):
        assert np.allclose(frames.positions[k], steps[k], atol=1e-5)
        assert np.allclose(frames.forces[k], result["trajectory_results"][k]["forces"], atol=1e-5)
    assert viewer._frames_meta["energies"] == pytest.approx(done[relax.id].summary["energies_ev"], abs=1e-6)
    assert np.allclose(viewer.structure.positions, steps[-1], atol=1e-5)

    table.show_details(static.id)
    wait_until(lambda: table.viewer.trajectory is None, 30, "the static job's structure")
    assert table.viewer.frames == 0 and table.viewer._frame_positions == b""
    assert manager.frames(static.id) is None
    table.close()


def test_an_old_job_gets_its_frames_from_its_result_and_unconverged_ones_keep_them(manager):
    """A job that ended before frames were kept apart (no cw-frames.npz): made from its
    result in a child process; a relaxation stopped at max_steps keeps its steps."""
    job = manager.submit(rattled_cu(), "emt.relax_job", relax_cell=False)
    stopped = manager.submit(rattled_cu(), "emt.relax_job", opt_params={"fmax": 1e-6, "max_steps": 3})
    done = {rec.id: rec for rec in manager.wait([job.id, stopped.id], timeout=180)}
    first = manager.frames(job.id)
    os.remove(os.path.join(done[job.id].work_dir, FRAMES))
    again = manager.frames(job.id)
    assert os.path.exists(os.path.join(done[job.id].work_dir, FRAMES))
    assert len(again) == len(first) and np.array_equal(again.positions, first.positions)
    assert np.array_equal(again.forces, first.forces) and np.array_equal(again.energies, first.energies)

    assert done[stopped.id].state is JobState.FAILED and done[stopped.id].summary["unconverged"]
    kept = manager.frames(stopped.id)
    assert isinstance(kept, Frames) and len(kept) == done[stopped.id].summary["n_steps"] + 1 >= 3
    assert kept.has_forces.all() and np.isfinite(kept.energies).all()
    assert kept.energies.tolist() == pytest.approx(done[stopped.id].summary["energies_ev"])


def _positions(frame) -> np.ndarray:
    """Positions of a jsanitized trajectory entry (an MSON Atoms), decoded as any reader would."""
    from monty.json import MontyDecoder

    return MontyDecoder().process_decoded(frame).positions
