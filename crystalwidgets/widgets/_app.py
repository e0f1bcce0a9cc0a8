"""App: structure (view, upload, paste, pass) + recipe form + cluster picker + submit + job table.

The App composes the widgets and wires them to one JobManager; it has no front end
of its own. Submitting never blocks the kernel: single jobs go straight to the
manager (milliseconds), sweeps are submitted by an asyncio task that yields
between jobs so the progress bar moves.
"""

from __future__ import annotations

import asyncio
import functools
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import ipywidgets as w

from .._loop import call_in_kernel, running_loop
from ..errors import CrystalWidgetsError, RecipeValidationError, StructureError
from ..jobs.sweep import sweep_grid
from ..structures.formula import describe_structure
from ..structures.io import load_structure
from ..structures.transform import TOOLS, parse_tool_text, transform
from ._entries import errors_by_field
from ._form import RecipeForm
from ._optimade import OptimadeSearch
from ._picker import ClusterPicker
from ._recent import RecentList
from ._sweep import SweepControls
from ._table import JobTable
from ._viewer import StructureViewer

__all__ = ["App"]

#: Sweep jobs in the first ``submit_many`` (the progress bar moves between batches);
#: later batches are sized to keep the kernel's thread busy about :data:`_SWEEP_SLICE_S`
#: each (one store transaction per batch: bigger batches record faster), at most
#: :data:`_SWEEP_BATCH_MAX` jobs.
_SWEEP_BATCH = 25
_SWEEP_SLICE_S = 0.05
_SWEEP_BATCH_MAX = 500

#: Pasted texts up to this many characters are parsed on the kernel's thread (milliseconds);
#: longer ones in a worker thread, like uploads.
_PASTE_INLINE = 100_000


def paste_label(text: str) -> str | None:
    """A short name for a pasted structure: its title line (an XYZ comment, a POSCAR's
    first line, a CIF's ``data_`` block name), or None (the formula names it then)."""
    lines = [line.strip() for line in text[:2000].splitlines()[:3]]  # not the whole text
    lines = [line for line in lines if line]
    if not lines:
        return None
    first = lines[0]
    if first.lower().startswith("data_"):
        title = first[5:]
    elif first.isdigit():  # XYZ: the atom count, then the comment line
        title = lines[1] if len(lines) > 1 and not _looks_like_atom_line(lines[1]) else ""
    elif first.startswith(("{", "[", "#", "<")):
        title = ""
    else:
        title = first
    title = " ".join(title.split())
    return title[:40] or None


def _looks_like_atom_line(line: str) -> bool:
    parts = line.split()
    try:
        [float(p) for p in parts[1:4]]
    except ValueError:
        return False
    return len(parts) >= 4


_FORMATS = ["auto", "cif", "poscar", "xyz", "extxyz", "json"]


def _text(value: str = "", **kw: Any) -> w.Label:
    # Labels show text, never HTML: structure names and errors are untrusted
    return w.Label(value=value, **kw)


class App(w.VBox):
    """One widget to pick a structure, a recipe and a cluster, submit, and watch.

    Parameters
    ----------
    manager : JobManager, optional
        The manager jobs go to (default: a new one on the user's store).
    structure : optional
        A structure (Atoms, pymatgen object, path) or a list of them to start with.
    recipe : str
        Recipe shown first.
    profile : str
        Profile selected first.
    **recipe_kwargs
        Initial recipe parameters.

    Attributes
    ----------
    viewer, form, picker, table
        The composed widgets, usable on their own.
    structures : list of ase.Atoms
        Structures loaded so far; the selected one is :attr:`structure`.
    labels, provenance : list of str
        Each loaded structure's name and where it came from (``upload: NaCl.cif``,
        ``paste``, ``built: strained 2 % from Cu``, ``optimade: mp mp-22862``, ``code``).
    recent : RecentList
        "Recent structures": what was loaded into Apps on this store, in this kernel or
        earlier ones (the newest 50, kept by ``manager.recent_structures``), to load again
        or forget.

    Notes
    -----
    What the main view shows is what Submit runs: the structure picked in the dropdown.
    A job's structures show in the table's details (their own view). When the view
    repeats the cell (its supercell control), a note says Submit runs the cell itself,
    and "Use this supercell" (:meth:`add_supercell`) makes the supercell a structure.
    """

    def __init__(
        self,
        manager: Any = None,
        structure: Any = None,
        *,
        recipe: str = "emt.relax_job",
        profile: str = "local",
        **recipe_kwargs: Any,
    ) -> None:
        if manager is None:
            from ..jobs.manager import JobManager

            manager = JobManager()
        self.manager = manager
        self.structures: list[Any] = []
        self.names: list[str] = []
        self.labels: list[str] = []
        self.provenance: list[str] = []

        self.viewer = StructureViewer()
        self.form = RecipeForm(recipe, **recipe_kwargs)
        self.picker = ClusterPicker(manager=manager)
        if profile in self.picker.names():
            self.picker.value = profile
        self.table = JobTable(manager)
        self.table.on_template(self._fill_from)  # "Use as template" in the table's details

        # structure input: pick among loaded ones, upload files, paste text
        self.pick = w.Dropdown(options=[], description="structure", layout=w.Layout(width="320px"))
        self.pick.add_class("cw-structure-pick")
        self.upload = w.FileUpload(
            accept=".cif,.vasp,.poscar,.xyz,.extxyz,.json,.traj,POSCAR,CONTCAR",
            multiple=True,
            description="Upload",
        )
        self.paste = w.Textarea(placeholder="paste a CIF, POSCAR or xyz here", layout=w.Layout(width="100%", height="90px"))
        self.paste_format = w.Dropdown(options=_FORMATS, value="auto", description="format", layout=w.Layout(width="200px"))
        self.paste_load = w.Button(description="Load pasted text")
        self.structure_info = _text()
        # the viewer's supercell is drawn only: say so, and offer to make it the structure
        self.supercell_note = _text()
        # structure tools: a new structure from the picked one (crystalwidgets.structures.transform)
        self.tool = w.Dropdown(options=list(TOOLS), value="supercell", description="tool", layout=w.Layout(width="240px"))
        self.tool_text = w.Text(placeholder=TOOLS["supercell"][1], layout=w.Layout(width="200px"))
        self.tool_apply = w.Button(description="Make structure")
        self.tool_help = _text()
        self.use_supercell = w.Button(description="Use this supercell", layout=w.Layout(display="none"))
        # OPTIMADE search: hits load into the dropdown as uploads do
        self.optimade = OptimadeSearch(self._read_off_thread, lambda hits: self._load_hits(hits))
        self.message = _text(layout=w.Layout(width="100%"))
        self.message.add_class("cw-app-message")
        # what earlier kernels (and this one) loaded, kept in the job store
        self.recent = RecentList(manager.recent_structures, self._load_recent)
        self.recent.refresh()

        # sweep: structures x strain/rattle x a grid over up to two parameters
        self.sweep = SweepControls()
        self.sweep_button, self.progress, self.progress_text = self.sweep.button, self.sweep.progress, self.sweep.progress_text

        self.upload.observe(self._on_upload, names="value")
        self.paste_load.on_click(lambda _: self._on_paste())
        self.pick.observe(self._on_pick, names="index")
        self.form.on_submit(lambda _: self.submit())
        self.form.observe(self._on_spec, names="spec")
        self.sweep_button.on_click(lambda _: self._start_sweep())
        self.viewer.observe(self._on_supercell, names="supercell")
        self.use_supercell.on_click(lambda _: self.add_supercell())
        self.tool.observe(self._on_tool, names="value")
        self.tool_apply.on_click(lambda _: self._on_tool_apply())
        self._on_tool()
        self.picker.observe(self._on_profile, names="value")
        self._on_profile({"new": self.picker.value})

        structure_box = w.VBox(
            [
                self.viewer,
                w.HBox([self.pick, self.structure_info]),
                w.HBox([self.supercell_note, self.use_supercell]),
                w.Accordion(
                    children=[
                        w.VBox([self.upload]),
                        w.VBox([self.paste, w.HBox([self.paste_format, self.paste_load])]),
                        # wraps: in a narrow column the button goes under the text field,
                        # its label whole (not "Ma...")
                        w.VBox(
                            [
                                w.HBox(
                                    [self.tool, self.tool_text, self.tool_apply],
                                    layout=w.Layout(flex_flow="row wrap"),
                                ),
                                self.tool_help,
                            ]
                        ),
                        self.optimade,
                        self.recent,
                    ],
                    titles=("Upload files", "Paste text", "Build from this structure", "Search OPTIMADE", "Recent structures"),
                ),
            ],
            layout=w.Layout(width="50%", min_width="360px"),
        )
        structure_box.add_class("cw-structure-box")
        side = w.VBox(
            [self.picker, self.form, w.Accordion(children=[self.sweep], titles=("Sweep",))],
            layout=w.Layout(width="50%", min_width="360px"),
        )
        super().__init__(
            [w.HBox([structure_box, side], layout=w.Layout(flex_flow="row wrap")), self.message, self.table]
        )
        self.add_class("cw-app")
        self._on_spec({"new": self.form.spec})
        if structure is not None:
            self.add_structures(structure if isinstance(structure, (list, tuple)) else [structure])
        self._update_can_submit()

    # -- structures ------------------------------------------------------------

    @property
    def structure(self) -> Any:
        """The selected structure (ASE Atoms), or None."""
        i = self.pick.index
        return self.structures[i] if i is not None and 0 <= i < len(self.structures) else None

    @structure.setter
    def structure(self, value: Any) -> None:
        self.add_structure(value)

    def add_structure(self, source: Any, name: str | None = None, format: str | None = None) -> Any:
        """Load a structure (anything ``load_structure`` takes), add it and select it.

        ``name`` labels it (and, for bytes, its file name tells the format).
        Errors are raised (from code) and shown in the App (from the UI paths).
        """
        atoms = load_structure(source, format=format, name=name)
        path = os.path.basename(str(source)) if isinstance(source, (str, os.PathLike)) and len(str(source)) < 4096 else None
        label = name or path
        provenance = f"file: {path}" if path and os.path.exists(str(source)) else "code"
        self._add_loaded(atoms, label, provenance=provenance)
        self._remember(-1)
        return atoms

    def add_structures(self, sources: Sequence[Any]) -> list[Any]:
        """Load many structures at once (the dropdown is refilled once, not per structure:
        10,000 of them load in seconds), select the last; all or, on an error, none."""
        loaded = [load_structure(source) for source in sources]
        for atoms in loaded:
            self._add_loaded(atoms, None, select=False, provenance="code")
        if loaded:
            self.pick.options = list(self.names)
            self.pick.index = len(self.structures) - 1
            self._remember(-len(loaded))
        return loaded

    def search_optimade(
        self,
        provider: str,
        elements: Any = None,
        formula: str | None = None,
        nelements: int | str | None = None,
        filter: str | None = None,  # noqa: A002 - OPTIMADE's name for it
        *,
        page_limit: int = 20,
        timeout: float = 20.0,
    ) -> Any:
        """Search an OPTIMADE provider and list the hits in the App's "Search OPTIMADE" section.

        Blocking (at most ``timeout`` seconds); the App's Search button runs the same search
        in a worker thread.

        Parameters
        ----------
        provider : str
            A provider's short name (``"mp"``, ``"oqmd"``, ``"cod"``) or base URL.
        elements, formula, nelements, filter
            What to search for (all given ones must hold), as for
            :func:`crystalwidgets.structures.optimade.search`.
        page_limit : int, default 20
            At most this many hits (1 to 100).
        timeout : float, default 20
            Seconds the whole query may take.

        Returns
        -------
        OptimadeResults
            The hits; load them with :meth:`load_optimade`.
        """
        from ..structures.optimade import search

        results = search(
            provider, elements, formula, nelements, filter, page_limit=page_limit, timeout=timeout
        )
        self.optimade.show(results)
        return results

    def load_optimade(self, hits: Any) -> list[Any]:
        """Load OPTIMADE hits (:class:`~crystalwidgets.structures.optimade.OptimadeHit`, or
        indices into the last search's hits) into the dropdown as uploads are, each named
        "NaCl (optimade: mp mp-22862)"; the last is selected. All or, when one cannot be
        loaded, none (:class:`~crystalwidgets.errors.StructureError` with its reason)."""
        shown = self.optimade.results.hits if self.optimade.results is not None else []
        picked = []
        for hit in hits if isinstance(hits, (list, tuple)) else [hits]:
            if isinstance(hit, int) and not isinstance(hit, bool):
                if not 0 <= hit < len(shown):
                    raise CrystalWidgetsError(f"hits: no hit {hit}: the last search listed {len(shown)} (0 to {len(shown) - 1})")
                hit = shown[hit]
            if getattr(hit, "atoms", None) is None:
                raise StructureError(f"{getattr(hit, 'name', hit)} cannot be loaded: {getattr(hit, 'reason', 'not an OPTIMADE hit')}")
            picked.append(hit)
        self._load_hits(picked)
        return self.structures[len(self.structures) - len(picked) :]

    def _load_hits(self, hits: list[Any]) -> list[str]:
        for hit in hits:
            self._add_loaded(hit.atoms.copy(), hit.name, select=False, provenance=f"optimade: {hit.provider} {hit.id}")
        if hits:
            self.pick.options = list(self.names)
            self.pick.index = len(self.structures) - 1
            self._remember(-len(hits))
        return self.names[len(self.names) - len(hits) :]

    def _add_loaded(self, atoms: Any, label: str | None, select: bool = True, provenance: str = "code") -> Any:
        """Append a structure (not yet remembered for later kernels: :meth:`_remember` does)."""
        info = describe_structure(atoms)
        label = label or info["formula"]
        self.structures.append(atoms)
        self.labels.append(label)
        self.provenance.append(provenance)
        self.names.append(f"{len(self.structures)}: {label} ({info['formula']}, {info['n_atoms']} atoms)")
        if select:
            self.pick.options = list(self.names)
            self.pick.index = len(self.structures) - 1
        return atoms

    def _remember(self, start: int) -> None:
        """Keep the structures loaded from ``start`` on (a negative index) for later kernels:
        in a worker thread (hashing 10,000 of them would hold the kernel), one transaction;
        the "Recent structures" list is read again after."""
        entries = list(zip(self.structures[start:], self.labels[start:], self.provenance[start:]))
        loop = running_loop()

        def done(error: str | None) -> None:
            call_in_kernel(loop, self._remembered, error)

        self._remember_thread = self.manager.recent_structures.remember(entries, done=done)

    def _remembered(self, error: str | None) -> None:
        if error:
            self.message.value = error
        self.recent.refresh()

    def _load_recent(self, entries: list[Any]) -> None:
        """Load structures from the "Recent structures" list (read off the kernel's thread)."""
        recent = self.manager.recent_structures
        reads = [(repr(e.label), functools.partial(recent.load, e.hash), (e.label, e.provenance)) for e in entries]

        def done(loaded: list[tuple[Any, Any]], errors: list[str]) -> None:
            for atoms, (label, provenance) in loaded:
                self._add_loaded(atoms, label, provenance=provenance)
            if loaded:
                self._remember(-len(loaded))  # on top of the list again
            self.message.value = " | ".join(errors + ([f"loaded {len(loaded)} recent structure(s)"] if loaded else []))

        self._recent_thread = self._read_off_thread(reads, "cw-recent-load", done)

    def _on_pick(self, change: dict[str, Any]) -> None:
        atoms = self.structure
        self.form.structure = atoms  # the form shows what the recipe cannot handle of it (and POTCARs)
        if atoms is not None:
            self.viewer.structure = atoms
            info = describe_structure(atoms)
            self.structure_info.value = f"{info['formula']}, {info['n_atoms']} atoms"
        self._on_supercell()
        self._update_can_submit()

    def _read_off_thread(
        self,
        reads: list[tuple[str, Callable[[], Any], str | None]],
        name: str,
        done: Callable[[list[tuple[Any, str | None]], list[str]], None],
    ) -> threading.Thread:
        """Run each ``(what, read, label)``'s ``read()`` in a worker thread, then call
        ``done(loaded, errors)`` on the kernel's loop: ``(atoms, label)`` pairs, and the
        errors as the text to show (never lost in the thread)."""
        loop = running_loop()

        def work() -> None:
            loaded, errors = [], []
            for what, read, label in reads:
                try:
                    loaded.append((read(), label))
                except CrystalWidgetsError as exc:
                    errors.append(str(exc))
                except Exception as exc:  # noqa: BLE001 - shown, never lost in a thread
                    errors.append(f"cannot read {what}: {type(exc).__name__}: {exc}")
            call_in_kernel(loop, done, loaded, errors)

        thread = threading.Thread(target=work, name=name, daemon=True)
        thread.start()
        return thread

    def _on_upload(self, change: dict[str, Any]) -> None:
        """Parse uploaded files in a worker thread: the kernel stays free however big they are."""
        items = [(bytes(item["content"]), str(item["name"])) for item in change["new"]]
        if not items:
            return
        self.message.value = f"reading {len(items)} file(s)..."
        reads = [(repr(name), functools.partial(load_structure, data, name=name), name) for data, name in items]
        self._upload_thread = self._read_off_thread(reads, "cw-upload", self._uploaded)

    def _uploaded(self, loaded: list[tuple[Any, str | None]], errors: list[str]) -> None:
        for atoms, name in loaded:
            self._add_loaded(atoms, name, provenance=f"upload: {name}")
        if loaded:
            self._remember(-len(loaded))
        done = [f"loaded {len(loaded)} file(s)"] if loaded else []
        self.message.value = " | ".join(errors + done)

    def _on_paste(self) -> None:
        """Parse the pasted text: short texts at once, long ones in a worker thread."""
        text = self.paste.value
        fmt = None if self.paste_format.value == "auto" else self.paste_format.value
        label = paste_label(text)
        if len(text) <= _PASTE_INLINE:
            try:
                atoms = load_structure(text, format=fmt)
            except CrystalWidgetsError as exc:
                self._pasted([], [str(exc)])
                return
            self._pasted([(atoms, label)], [])
            return
        self.message.value = f"reading the pasted text ({len(text):,} characters)..."
        read = functools.partial(load_structure, text, format=fmt)
        self._paste_thread = self._read_off_thread([("the pasted text", read, label)], "cw-paste", self._pasted)

    def _pasted(self, loaded: list[tuple[Any, str | None]], errors: list[str]) -> None:
        if errors:
            self.message.value = errors[0]
            return
        self._add_loaded(*loaded[0], provenance="paste")
        self._remember(-1)
        self.message.value = "loaded the pasted structure"

    def _on_profile(self, change: dict[str, Any]) -> None:
        try:
            profile = self.manager.profiles.get(change["new"])
        except CrystalWidgetsError:  # no such profile (yet): the submit says so
            return
        self.form.set_profile(profile)  # its worker_init may set the POTCAR library

    def _update_can_submit(self) -> None:
        self.form.can_submit = self.structure is not None
        if self.structure is None:
            self.form.status = "load a structure first (upload, paste, or App(structure=atoms))"
        elif self.form.status.startswith("load a structure"):
            self.form.status = ""

    # -- submitting ------------------------------------------------------------

    def use_as_template(self, job_id: str) -> str:
        """Put a job's structure, recipe, parameters and profile into the form, to edit and
        submit a variant (the table's "Use as template" does the same).

        Its input structure is added to the structure dropdown and picked. Returns what the
        App's message line then says.

        Raises
        ------
        CrystalWidgetsError
            When the job's inputs cannot be read, or it ran a function of your own (the
            form offers the catalogue's recipes: submit a variant from code instead).
        """
        return self._fill_from(self.manager.template(job_id))

    def _fill_from(self, template: Any) -> str:
        from ..recipes.catalogue import recipes

        short = template.job_id[:8]
        recipe = template.recipe
        name = recipes.resolve(recipe).name if isinstance(recipe, str) else None
        if name is None or name not in recipes:
            raise CrystalWidgetsError(
                f"job {short} ran a function of your own, which the form does not offer: submit a variant "
                f"from code, t = mgr.template({short!r}); mgr.submit(t.structure, t.recipe, **t.params)"
            )
        self.add_structure(template.structure.copy(), name=f"job {short} input")
        with self.form.hold_sync():
            self.form.recipe = name
            self.form.entries = {}
            self.form.set_values(**template.params)
        said = f"job {short} is in the form: its structure, {name} and its parameters; edit them and submit"
        if template.profile in self.picker.names():
            self.picker.value = template.profile
        else:
            said += f" (its profile {template.profile!r} is gone: pick one)"
        self.message.value = said
        return said

    def submit(self) -> Any:
        """Submit the selected structure with the form's recipe, parameters and profile."""
        if self.structure is None:
            raise CrystalWidgetsError("no structure: load one first (upload, paste, or App(structure=atoms))")
        try:
            rec = self.manager.submit(self.structure, self.form.recipe, self.picker.value, **self.form.value)
        except CrystalWidgetsError as exc:
            self.form.status = f"not submitted: {exc}"
            if isinstance(exc, RecipeValidationError):  # e.g. a POTCAR removed since the form checked
                self.form.errors = {**self.form.errors, **errors_by_field(exc.problems)}
            raise
        self.form.status = f"submitted {rec.short_id} ({rec.recipe} on {rec.formula}, {rec.profile})"
        return rec

    def sweep_jobs(
        self,
        grid: dict[str, Sequence[Any]] | None = None,
        *,
        over: str = "all",
        strain: Sequence[float | Sequence[float]] | None = None,
        rattle: Sequence[float] | None = None,
    ) -> list[tuple[Any, dict[str, Any], str]]:
        """The ``(structure, kwargs, label)`` jobs of a sweep with the form's recipe and
        parameters, every point validated first (:func:`crystalwidgets.jobs.sweep.sweep_grid`).

        Parameters
        ----------
        grid : dict, optional
            Parameter path to its values: ``{"opt_params.fmax": [0.1, 0.05, 0.01]}``,
            ``{"method": ["GFN1-xTB", "GFN2-xTB"]}``.
        over : {"all", "selected"}
            Every loaded structure, or the selected one.
        strain : sequence, optional
            Strains (%) of each structure: a number (isotropic) or three (along a, b, c).
        rattle : sequence of float, optional
            Rattle amplitudes (Å) of each structure.
        """
        if over not in ("all", "selected"):
            raise CrystalWidgetsError(f"over: {over!r} is neither 'all' (every loaded structure) nor 'selected'")
        if over == "selected":
            i = self.pick.index
            structures = [(self.structures[i], self.labels[i])] if self.structure is not None else []
        else:
            structures = list(zip(self.structures, self.labels))
        return sweep_grid(self.form.recipe, self.form.value, structures, grid, strain=strain, rattle=rattle)

    def _start_sweep(self) -> None:
        try:
            args = self.sweep.arguments()
            jobs = self.sweep_jobs(args.pop("grid"), **args)
        except CrystalWidgetsError as exc:
            self.progress_text.value = str(exc)
            return
        self.sweep_button.disabled = True
        loop = running_loop()
        if loop is None:  # no kernel loop (a script): submit in place
            self._run_sweep_sync(jobs)
        else:
            self._sweep_task = loop.create_task(self._run_sweep(jobs))

    async def _run_sweep(self, jobs: list[tuple[Any, dict[str, Any], str]]) -> list[Any]:
        recs: list[Any] = []
        for _ in self._sweep(jobs, recs):
            await asyncio.sleep(0)  # let the progress reach the browser
        return recs

    def _run_sweep_sync(self, jobs: list[tuple[Any, dict[str, Any], str]]) -> list[Any]:
        recs: list[Any] = []
        for _ in self._sweep(jobs, recs):
            pass
        return recs

    def _sweep(self, jobs: list[tuple[Any, dict[str, Any], str]], recs: list[Any]) -> Iterator[None]:
        """Submit the sweep a batch at a time (one store transaction each), yielding between."""
        self._sweep_begin(len(jobs))
        start, size = 0, _SWEEP_BATCH
        try:
            while start < len(jobs):
                t0 = time.perf_counter()
                if not self._sweep_batch(jobs, start, size, recs):
                    return
                start += size
                took = max(time.perf_counter() - t0, 1e-3)
                size = max(1, min(_SWEEP_BATCH_MAX, 4 * size, int(size * _SWEEP_SLICE_S / took)))
                yield
        finally:
            self.sweep_button.disabled = False

    def _sweep_begin(self, n: int) -> None:
        self.progress.max = max(n, 1)
        self.progress.value = 0
        self.progress.layout.visibility = "visible"

    def _sweep_batch(
        self, jobs: list[tuple[Any, dict[str, Any], str]], start: int, size: int, recs: list[Any]
    ) -> bool:
        """Submit ``jobs[start:start + size]`` at once; False (and why, shown) on an error."""
        n = len(jobs)
        batch = jobs[start : start + size]
        try:
            recs += self.manager.submit_many(batch, self.form.recipe, self.picker.value)
        except CrystalWidgetsError as exc:
            self.progress_text.value = (
                f"sweep stopped: {len(recs)} of {n} jobs submitted, then the batch of jobs "
                f"{start + 1}-{start + len(batch)} failed: {exc}"
            )
            return False
        self.progress.value = start + len(batch)
        self.progress_text.value = f"submitted {start + len(batch)} of {n}"
        return True

    def _on_spec(self, change: dict[str, Any]) -> None:
        self.sweep.set_spec(change["new"])

    # -- supercell -------------------------------------------------------------

    def _on_supercell(self, change: dict[str, Any] | None = None) -> None:
        """Say when the view repeats the cell: Submit runs the cell in the dropdown."""
        atoms = self.structure
        copies = self._copies()
        if atoms is None or copies == (1, 1, 1):
            self.supercell_note.value = ""
            self.use_supercell.layout.display = "none"
            return
        text = "×".join(map(str, copies))
        self.supercell_note.value = (
            f"The view repeats the cell {text}; Submit runs the {len(atoms)}-atom cell "
            "picked above."
        )
        self.use_supercell.description = f"Use the {text} supercell ({len(atoms) * math.prod(copies)} atoms)"
        self.use_supercell.layout.display = ""

    def _copies(self) -> tuple[int, int, int]:
        """The viewer's supercell along the periodic axes (copies along others are not drawn)."""
        atoms = self.structure
        if atoms is None:
            return (1, 1, 1)
        return tuple(int(n) if atoms.pbc[axis] else 1 for axis, n in enumerate(self.viewer.supercell))

    def transform(self, tool: str, text: str = "", **params: Any) -> Any:
        """Make a new structure from the picked one with a structure tool, add and select it.

        ``params`` as for :func:`crystalwidgets.structures.transform.transform`, or
        ``text`` as the App's field takes it (``"2 2 2"``, ``"Na -> K"``). The new one is
        named with its origin ("Na4Cl4 from 2: NaCl, supercell 2×2×2").
        """
        atoms = self.structure
        if atoms is None:
            raise CrystalWidgetsError("no structure: load one first, then build from it")
        made, what = transform(atoms, tool, **(params or parse_tool_text(tool, text)))
        source = self.names[self.pick.index].split(" (", 1)[0]
        self._add_loaded(
            made, f"{made.get_chemical_formula()} from {source}, {what}", provenance=f"built: {what} from {self.labels[self.pick.index]}"
        )
        self._remember(-1)
        return made

    def _on_tool(self, change: dict[str, Any] | None = None) -> None:
        what, example = TOOLS[self.tool.value]
        self.tool_text.placeholder = example
        self.tool_text.disabled = what == "nothing"
        self.tool_help.value = f"{self.tool.value}: {what}" + (f", e.g. {example}" if example else "")

    def _on_tool_apply(self) -> None:
        try:
            made = self.transform(self.tool.value, self.tool_text.value)
        except CrystalWidgetsError as exc:
            self.message.value = str(exc)
            return
        self.message.value = f"made {self.names[-1]}" if made is not None else ""

    def add_supercell(self) -> Any:
        """Add the supercell the viewer draws as a new structure, named with where it came
        from ("Cu32 from 1: Cu, supercell 2×2×2"), and select it (the view then shows it once)."""
        atoms = self.structure
        if atoms is None:
            raise CrystalWidgetsError("no structure: load one first")
        copies = self._copies()
        source = self.names[self.pick.index].split(" (", 1)[0]
        bigger = atoms.repeat(copies)
        label = f"{bigger.get_chemical_formula()} from {source}, supercell {'×'.join(map(str, copies))}"
        self.viewer.supercell = (1, 1, 1)
        self._add_loaded(bigger, label, provenance=f"built: supercell {'×'.join(map(str, copies))} from {self.labels[self.pick.index]}")
        self._remember(-1)
        return bigger
