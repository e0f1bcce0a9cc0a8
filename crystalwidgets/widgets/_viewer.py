"""StructureViewer: an interactive 3D view of a crystal or molecule (NGL in the browser)."""

from __future__ import annotations

import functools
import logging
import numbers
import threading
from typing import Any

import anywidget
import numpy as np
import traitlets

from .._loop import call_in_kernel, running_loop
from ..structures.geometry import boundary_images, measure, periodic_bonds
from ..structures.symmetry import crystal_summary
from ..structures.trajectory import Frames
from ._esm import bundle_path

__all__ = ["StructureViewer"]

DRAW_STYLES = ("ball-and-stick", "space-filling")
#: Above this many drawn atoms no bonds are searched or drawn (balls only).
BOND_LIMIT = 20_000
#: Structures of up to this many atoms are described (bonds, images, space group) on the
#: caller's thread; bigger ones in a worker thread (~1 s at 10,000 atoms), so setting
#: ``structure`` returns at once and the kernel stays responsive meanwhile.
INLINE_ATOMS = 64

log = logging.getLogger(__name__)


def _as_atoms(value: Any) -> Any:
    """A private ASE copy of ``value`` (ASE Atoms, pymatgen Structure/Molecule), or None."""
    if value is None:
        return None
    if _is_atoms(value):
        return value.copy()
    if type(value).__module__.startswith("pymatgen"):
        from pymatgen.core import IMolecule, IStructure

        if isinstance(value, (IStructure, IMolecule)):
            from pymatgen.io.ase import AseAtomsAdaptor

            return AseAtomsAdaptor.get_atoms(value)
    raise traitlets.TraitError(
        "structure: expected an ase.Atoms, a pymatgen Structure or Molecule, or None; "
        f"got {type(value).__name__}. To show a file, read it first, e.g. "
        "viewer.structure = crystalwidgets.load_structure(path)."
    )


@functools.cache
def _ngl_source() -> str:
    """The NGL bundle's text, read once per process."""
    return bundle_path("viewer-ngl.js").read_text(encoding="utf-8")


def _structure_data(atoms: Any) -> dict[str, Any]:
    """The compact JSON the front end draws from (positions and cell in Å).

    ``bonds`` holds :func:`~crystalwidgets.structures.geometry.periodic_bonds` flattened
    (5 numbers a bond; None above ``bond_limit`` atoms), ``images`` the boundary images
    flattened (4 numbers an image); the browser lays them out for the supercell shown.
    """
    if atoms is None:
        return {}
    from ase.data import atomic_numbers, covalent_radii

    symbols = atoms.get_chemical_symbols()
    bonds = periodic_bonds(atoms).ravel().tolist() if len(atoms) <= BOND_LIMIT else None
    return {
        "bonds": bonds,
        "bond_limit": BOND_LIMIT,
        "images": boundary_images(atoms).ravel().tolist(),
        "symbols": symbols,
        "positions": atoms.positions.round(6).tolist(),
        "cell": atoms.cell.array.round(6).tolist(),
        "pbc": [bool(p) for p in atoms.pbc],
        "covalent_radii": {
            symbol: float(covalent_radii[atomic_numbers[symbol]]) for symbol in set(symbols)
        },
    }


def _as_frames(value: Any) -> Frames | None:
    """``value`` as :class:`Frames`: Frames as they are, a list of ASE Atoms converted."""
    if value is None or isinstance(value, Frames):
        return value
    try:
        images = list(value)
    except TypeError:
        images = None
    if images and all(_is_atoms(image) for image in images):
        try:
            return Frames.from_atoms(images)
        except ValueError as exc:
            raise traitlets.TraitError(f"trajectory: {exc}") from None
    raise traitlets.TraitError(
        "trajectory: expected crystalwidgets Frames (JobManager.frames), a list of ase.Atoms of "
        f"the same atoms (e.g. ase.io.read(path, ':')), or None; got {type(value).__name__}"
    )


def _frames_meta(frames: Frames | None) -> dict[str, Any]:
    """What the browser needs beside the binary positions and forces of each frame."""
    if frames is None:
        return {}

    def finite(values: Any) -> list[float | None]:
        return [round(float(v), 6) if np.isfinite(v) else None for v in values]

    cells = frames.cells.reshape(len(frames), 9)
    varying = bool((np.abs(cells - cells[0]) > 1e-6).any())
    return {
        "n_atoms": frames.n_atoms,
        "steps": frames.steps.tolist(),
        "energies": finite(frames.energies),
        "max_forces": finite(frames.max_forces),
        "has_forces": frames.has_forces.tolist(),
        "cells": cells.round(6).tolist() if varying else None,
    }


def _periodic_axes(atoms: Any) -> list[bool]:
    """Axes along which supercell copies are drawn: periodic, with a non-zero cell vector."""
    lengths = atoms.cell.lengths()
    return [bool(atoms.pbc[axis]) and lengths[axis] > 1e-6 for axis in range(3)]


def _whole_number(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_atoms(value: Any) -> bool:
    from ase import Atoms

    return isinstance(value, Atoms)


def _parse_supercell(value: Any) -> tuple[int, int, int] | None:
    """``(a, b, c)`` from an int n (meaning n, n, n) or three whole numbers >= 1, else None."""
    if _whole_number(value):
        value = (value, value, value)
    try:
        copies = tuple(value)
    except TypeError:
        return None
    if len(copies) != 3 or not all(_whole_number(c) and c >= 1 for c in copies):
        return None
    return (int(copies[0]), int(copies[1]), int(copies[2]))


def _drawn_atoms(atoms: Any, copies: tuple[int, int, int]) -> int:
    """How many atoms the view draws for ``atoms`` repeated ``copies`` times."""
    drawn = len(atoms)
    for axis, periodic in enumerate(_periodic_axes(atoms)):
        if periodic:
            drawn *= copies[axis]
    return drawn


class StructureViewer(anywidget.AnyWidget):
    """An interactive 3D view of a crystal or molecule, drawn in the browser with NGL.

    Rotate with the left mouse button, pan with the right one, zoom with the wheel.
    Clicking an atom adds it to :attr:`selected` (clicking it again removes it); the
    element and position of each selected atom are listed under the view.
    Supercell copies, bonds and the unit cell box are computed in the browser, so
    changing :attr:`supercell` sends nothing from the kernel.

    Parameters
    ----------
    structure : ase.Atoms or pymatgen.core.Structure or pymatgen.core.Molecule, optional
        What to show. Stored as a private ASE copy: later changes to the object you
        passed are not shown until you assign it again.
    **kwargs
        Initial values of the other traits (``supercell=(2, 2, 2)``, ``draw_style=...``).

    Attributes
    ----------
    structure : ase.Atoms or None
        The structure shown. Assigning a new one redraws it in place (the 3D view
        and its camera stay) and drops selected indices that no longer exist. Above
        64 atoms its bonds, images and :attr:`summary` are found in a worker thread,
        so the assignment returns at once; a script that reads :attr:`summary` next
        calls :meth:`wait_described` first.
    supercell : tuple of int
        Copies drawn along the cell vectors a, b and c, each >= 1 (an int ``n``
        means ``(n, n, n)``). Non-periodic directions are drawn once.
    draw_style : {"ball-and-stick", "space-filling"}
        Ball-and-stick draws covalent-radius balls and bonds (bonds are left out
        above 20,000 drawn atoms); space-filling draws van der Waals spheres.
        (Not called ``style``: ipywidgets reserves that name for a style widget.)
    show_cell : bool
        Whether the unit cell box is drawn (a red, b green, c blue, labelled).
    show_images : bool
        Whether periodic images are drawn, smaller and paler than the atoms: atoms on
        cell faces, edges and corners repeated on the opposite ones (a conventional
        NaCl cell shows its 27-atom cube), and the bonded neighbours, across the
        boundary, of atoms that would otherwise be drawn without any bond. Clicking an
        image selects the atom it is an image of. No effect on molecules.
    selected : list of int
        Indices (into :attr:`structure`) of the selected atoms, in selection order.
        Clicking in the view toggles them; assigning here updates the view. Cleared
        when a structure with other elements or another atom order is assigned (kept
        for new positions of the same atoms, e.g. another step of a relaxation).
    selection_info : list of dict
        Read-only: for each selected atom its ``index``, ``symbol``, ``position``
        (Å) and ``fractional`` coordinates (None without a full 3D cell).
    measurement : dict or None
        Read-only: with two, three or four atoms selected, their distance, angle (at
        the middle atom) or dihedral, nearest periodic images taken into account (see
        :func:`crystalwidgets.structures.geometry.measure`); None otherwise.
    summary : dict
        Read-only: lattice parameters, space group and element counts of
        :attr:`structure` (see :func:`crystalwidgets.structures.symmetry.crystal_summary`),
        shown above the view.
    trajectory : Frames or None
        The steps of a relaxation or an MD (:meth:`JobManager.frames
        <crystalwidgets.JobManager.frames>`, or a list of ASE Atoms of the same atoms,
        converted to :class:`~crystalwidgets.structures.trajectory.Frames`). Shown frame by
        frame: a slider and a play button under the view, with each step's energy and
        largest force. Assigning one shows its last frame (:attr:`structure` becomes that
        frame unless it is already of the same atoms); assigning :attr:`structure` drops it.
        Only positions (float32, binary) go to the browser per frame.
    frames : int
        Read-only: how many frames :attr:`trajectory` has (0 without one: no slider).
    frame : int
        The frame shown, 0 to ``frames - 1``; moves with the slider and the play button,
        and moves them when set from Python. Selection, measurement and supercell follow
        it: :attr:`selected` keeps its atom indices, :attr:`selection_info` and
        :attr:`measurement` give the frame's positions.
    show_forces : bool
        Draw each atom's force in the frame shown as an arrow, the longest ~1.2 Å long
        (the scale is written under the view); nothing for a frame without forces.
    max_atoms : int
        Most atoms the view will draw (structure size times supercell copies);
        guards the browser tab against a supercell typed too large.
    height : int
        Height of the 3D view in pixels.

    Examples
    --------
    >>> from ase.build import bulk
    >>> viewer = StructureViewer(bulk("NaCl", "rocksalt", a=5.64, cubic=True), supercell=2)
    >>> viewer.supercell
    (2, 2, 2)
    >>> viewer.selected = [0]
    >>> viewer.selection_info[0]["symbol"]
    'Na'
    """

    _esm = bundle_path("viewer.js")
    _css = bundle_path("viewer.css")
    #: NGL (viewer-ngl.js, 1.3 MB), loaded by the front end when a view renders, not with
    #: ``_esm``: anywidget gives the module 2 s to load, which parsing NGL can take on a busy machine.
    _ngl = traitlets.Unicode(read_only=True).tag(sync=True)

    @traitlets.default("_ngl")
    def _ngl_default(self) -> str:
        return _ngl_source()

    structure = traitlets.Any(default_value=None, allow_none=True)
    supercell = traitlets.Any(default_value=(1, 1, 1)).tag(sync=True)
    draw_style = traitlets.Enum(DRAW_STYLES, default_value="ball-and-stick").tag(sync=True)
    show_cell = traitlets.Bool(default_value=True).tag(sync=True)
    show_images = traitlets.Bool(default_value=True).tag(sync=True)
    selected = traitlets.List(trait=traitlets.Any()).tag(sync=True)
    selection_info = traitlets.List(read_only=True).tag(sync=True)
    measurement = traitlets.Dict(default_value=None, allow_none=True, read_only=True).tag(sync=True)
    summary = traitlets.Dict(read_only=True).tag(sync=True)
    max_atoms = traitlets.Int(default_value=100_000, min=1).tag(sync=True)
    height = traitlets.Int(default_value=420, min=150, max=4000).tag(sync=True)
    trajectory = traitlets.Any(default_value=None, allow_none=True)
    frames = traitlets.Int(0, read_only=True).tag(sync=True)
    frame = traitlets.Int(0).tag(sync=True)
    show_forces = traitlets.Bool(False).tag(sync=True)
    _structure_data = traitlets.Dict().tag(sync=True)
    #: Per frame: steps, energies, largest forces, which have forces, cells if they change.
    _frames_meta = traitlets.Dict().tag(sync=True)
    #: float32 positions of every frame, (frames, atoms, 3) in C order (a binary buffer).
    _frame_positions = traitlets.Bytes(b"").tag(sync=True)
    #: float32 forces of every frame, as positions; empty when no frame has forces.
    _frame_forces = traitlets.Bytes(b"").tag(sync=True)
    #: True while a big structure is described in a worker thread (the browser says so).
    _describing = traitlets.Bool(False).tag(sync=True)

    def __init__(self, structure: Any = None, **kwargs: Any) -> None:
        self._generation = 0  # of the structure last set: late descriptions of others are dropped
        self._keep_trajectory = False  # structure set from the trajectory: keep it
        trajectory = kwargs.pop("trajectory", None)
        frame = kwargs.pop("frame", None)
        super().__init__(structure=structure, **kwargs)
        if trajectory is not None:
            self.trajectory = trajectory
        if frame is not None:
            self.frame = frame

    @traitlets.validate("structure")
    def _validate_structure(self, proposal: Any) -> Any:
        atoms = _as_atoms(proposal["value"])
        copies = _parse_supercell(self.supercell)
        if atoms is not None and copies is not None:
            self._check_drawn(atoms, copies, "structure", "set a smaller supercell first")
        return atoms

    def _check_drawn(self, atoms: Any, copies: tuple[int, int, int], field: str, fix: str) -> None:
        """Refuse drawing more than ``max_atoms`` atoms, naming ``field`` and the fix."""
        drawn = _drawn_atoms(atoms, copies)
        if drawn > self.max_atoms:
            raise traitlets.TraitError(
                f"{field}: {copies} copies of {len(atoms):,} atoms draw {drawn:,} atoms, more "
                f"than max_atoms={self.max_atoms:,}; {fix} or raise max_atoms"
            )

    @traitlets.validate("supercell")
    def _validate_supercell(self, proposal: Any) -> tuple[int, int, int]:
        value = proposal["value"]
        copies = _parse_supercell(value)
        if copies is None:
            raise traitlets.TraitError(
                "supercell: expected three whole numbers >= 1, the copies along a, b and c, "
                f"e.g. (2, 2, 2); got {value!r}"
            )
        # While the constructor sets several traits, structure may not be converted yet;
        # the structure's own check covers that case.
        atoms = self.structure
        if _is_atoms(atoms):
            self._check_drawn(atoms, copies, "supercell", "choose fewer copies")
        return copies

    @traitlets.validate("trajectory")
    def _validate_trajectory(self, proposal: Any) -> Frames | None:
        frames = _as_frames(proposal["value"])
        if frames is not None and _parse_supercell(self.supercell) is not None:
            self._check_drawn(frames.atoms(0), self.supercell, "trajectory", "set a smaller supercell first")
        return frames

    @traitlets.validate("frame")
    def _validate_frame(self, proposal: Any) -> int:
        value = proposal["value"]
        if not 0 <= value < max(1, self.frames):
            raise traitlets.TraitError(
                f"frame: {value} is out of range for a trajectory of {self.frames} frames; "
                f"use 0 to {self.frames - 1}"
                if self.frames
                else f"frame: {value} given but no trajectory is shown (set viewer.trajectory first)"
            )
        return value

    @traitlets.observe("trajectory")
    def _on_trajectory(self, change: Any) -> None:
        frames = change["new"]
        with self.hold_sync():
            if frames is not None:
                atoms = self.structure
                if atoms is None or not np.array_equal(atoms.numbers, frames.numbers):
                    self._keep_trajectory = True
                    try:
                        self.structure = frames.atoms(len(frames) - 1)
                    finally:
                        self._keep_trajectory = False
            self._frames_meta = _frames_meta(frames)
            self._frame_positions = b"" if frames is None else frames.positions.tobytes()
            forces = None if frames is None else frames.forces
            self._frame_forces = b"" if forces is None else forces.tobytes()
            self.set_trait("frames", 0 if frames is None else len(frames))
            last = max(0, self.frames - 1)
            if self.frame != last:
                self.frame = last
            else:
                self._describe_selection()

    @traitlets.observe("frame")
    def _on_frame(self, change: Any) -> None:
        self._describe_selection()

    def _frame_atoms(self) -> Any:
        """The atoms shown: :attr:`structure`, with the positions and cell of :attr:`frame`."""
        frames, atoms = self.trajectory, self.structure
        if frames is None or atoms is None:
            return atoms
        atoms = atoms.copy()
        atoms.positions = frames.positions[self.frame]
        atoms.cell = frames.cells[self.frame]
        return atoms

    @traitlets.validate("selected")
    def _validate_selected(self, proposal: Any) -> list[int]:
        count = 0 if self.structure is None else len(self.structure)
        indices: list[int] = []
        for index in proposal["value"]:
            if not _whole_number(index):
                raise traitlets.TraitError(
                    f"selected: atom indices must be whole numbers; got {index!r}"
                )
            if not 0 <= index < count:
                raise traitlets.TraitError(
                    f"selected: atom index {index} is out of range for a structure of "
                    f"{count} atoms; use indices 0 to {count - 1}"
                    if count
                    else f"selected: atom index {index} given but no structure is shown"
                )
            if int(index) not in indices:
                indices.append(int(index))
        return indices

    @traitlets.observe("structure")
    def _on_structure(self, change: Any) -> None:
        atoms, old = change["new"], change["old"]
        # (old is None only while the constructor sets structure and selected together)
        other_atoms = old is not None and (
            atoms is None or atoms.get_chemical_symbols() != old.get_chemical_symbols()
        )
        self._generation += 1
        generation = self._generation
        with self.hold_sync():
            if not self._keep_trajectory and self.trajectory is not None:
                self.trajectory = None
            if self.selected and other_atoms:
                self.selected = []
            self._describe_selection()
            if atoms is None or len(atoms) <= INLINE_ATOMS:
                self._described(generation, _structure_data(atoms), crystal_summary(atoms))
                return
            self._describing = True
        loop = running_loop()

        def work() -> None:
            try:
                described = _structure_data(atoms), crystal_summary(atoms)
            except Exception:  # noqa: BLE001 - a worker thread: say it, keep the old picture
                log.exception("could not describe a structure of %d atoms", len(atoms))
                described = None, None
            call_in_kernel(loop, self._described, generation, *described)

        threading.Thread(target=work, name="cw-viewer-describe", daemon=True).start()

    def _described(self, generation: int, data: dict | None, summary: dict | None) -> None:
        """Send what :func:`_structure_data` and the summary found, unless superseded
        (None: describing failed, logged; the old picture stays)."""
        if generation != self._generation:
            return  # another structure was set meanwhile: its own description follows
        with self.hold_sync():
            if data is not None:
                self._structure_data = data
                self.set_trait("summary", summary)
            self._describing = False

    def wait_described(self, timeout: float = 30) -> bool:
        """Wait (at most ``timeout`` s) until the structure's bonds and summary are sent.

        Only for scripts: in a notebook the browser shows the structure when ready.
        Returns False if still not done.
        """
        import time

        deadline = time.monotonic() + timeout
        while self._describing and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self._describing

    @traitlets.observe("selected")
    def _on_selected(self, change: Any) -> None:
        self._describe_selection()

    def _describe_selection(self) -> None:
        atoms = self._frame_atoms() if self.selected else self.structure
        info = []
        if atoms is not None and self.selected:
            fractional = (
                atoms.cell.scaled_positions(atoms.positions) if atoms.cell.rank == 3 else None
            )
            for index in self.selected:
                info.append(
                    {
                        "index": index,
                        "symbol": atoms[index].symbol,
                        "position": [round(float(x), 6) for x in atoms.positions[index]],
                        "fractional": None
                        if fractional is None
                        else [round(float(x), 6) for x in fractional[index]],
                    }
                )
        self.set_trait("selection_info", info)
        self.set_trait("measurement", measure(atoms, self.selected))
