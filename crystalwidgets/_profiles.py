"""Cluster profiles: named, typed, validated records saved in the user's config dir.

A profile says where jobs run. Each kind is a pydantic model registered with
:func:`register_kind`; it names its runner class (imported lazily) and has a
pre-flight :meth:`Profile.check` that returns every problem at once.

``local`` always exists; saved profiles live in ``profiles.json`` (0600) under
the config dir. No secret is ever stored: a field whose name looks like one is
refused.
"""

from __future__ import annotations

import json
import os
import re
from importlib import import_module
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._files import config_dir, private_dir, write_private
from .errors import ProfileError

__all__ = [
    "Profile",
    "LocalProfile",
    "ProfileError",
    "ProfileStore",
    "register_kind",
    "profile_kinds",
]

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_SECRET = re.compile(r"pass(word)?|token|secret|api[_-]?key|private[_-]?key", re.I)


class Profile(BaseModel):
    """Base of all profile kinds. Unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    #: The kind's name, also the discriminator in saved files.
    kind: str
    name: str = Field(pattern=_NAME, description="Name the profile is picked by.")
    description: str = Field("", max_length=500, description="Free text shown in the picker.")

    #: "module:Class" of the runner, imported on first use.
    runner: ClassVar[str]

    def runner_class(self) -> type:
        """The runner class serving this profile (imports its engine)."""
        module, _, cls = self.runner.partition(":")
        return getattr(import_module(module), cls)

    def check(self, *, deep: bool = False) -> list[str]:
        """Pre-flight check. Returns every problem found as a message; empty when fine.

        ``deep=True`` may run a tiny job on the target (slower, still bounded).
        """
        return []


class LocalProfile(Profile):
    """Jobs run as processes on this machine, no server: the embedded default."""

    kind: Literal["local"] = "local"
    name: str = Field("local", pattern=_NAME)
    max_workers: int | None = Field(
        None, ge=1, le=1024, description="Jobs running at once (default: number of cores)."
    )
    runner: ClassVar[str] = "crystalwidgets.runners.local:LocalRunner"

    def check(self, *, deep: bool = False) -> list[str]:
        problems = []
        cores = os.cpu_count() or 1
        if self.max_workers and self.max_workers > 4 * cores:
            problems.append(
                f"max_workers: {self.max_workers} is far above this machine's {cores} cores; "
                f"set it to {cores} or fewer"
            )
        return problems


_KINDS: dict[str, type[Profile]] = {}


def register_kind(cls: type[Profile]) -> type[Profile]:
    """Register a profile kind (usable as a class decorator)."""
    kind = cls.model_fields["kind"].default
    _KINDS[kind] = cls
    return cls


def profile_kinds() -> dict[str, type[Profile]]:
    """Registered kinds by name."""
    return dict(_KINDS)


register_kind(LocalProfile)


def _parse(data: dict[str, Any]) -> Profile:
    kind = data.get("kind")
    name = data.get("name", "?")
    if kind not in _KINDS:
        fix = f"unknown kind {kind!r}; use one of {', '.join(sorted(_KINDS))}"
        raise ProfileError(f"profile {name!r}: {fix}", [("kind", fix)])
    secrets = [k for k in data if _SECRET.search(k)]
    if secrets:
        fix = "looks like a secret; profiles never store passwords or tokens (Slurm uses your own login)"
        raise ProfileError(f"profile {name!r}: field {secrets[0]!r} {fix}", [(secrets[0], fix)])
    try:
        return _KINDS[kind].model_validate(data)
    except ValidationError as exc:
        problems = [
            (".".join(map(str, e["loc"])) or "profile", e["msg"].removeprefix("Value error, "))
            for e in exc.errors()
        ]
        msgs = "; ".join(f"{field}: {msg}" for field, msg in problems)
        raise ProfileError(f"profile {name!r} is invalid: {msgs}", problems) from None


class ProfileStore:
    """Saved profiles: ``local`` plus what is in ``<config dir>/profiles.json``.

    Parameters
    ----------
    path
        The JSON file; default ``$CRYSTALWIDGETS_CONFIG/profiles.json`` or the
        user config dir.
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else config_dir() / "profiles.json"
        self._parsed: dict[str, tuple[tuple[int, int, int] | None, Profile]] = {}

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
            assert isinstance(data, dict)
        except (ValueError, AssertionError):
            raise ProfileError(
                f"{self.path} is not a valid profiles file; fix or remove it "
                "(profiles are JSON: an object of name -> profile)"
            ) from None
        return data

    @staticmethod
    def validate(data: dict[str, Any]) -> Profile:
        """The profile ``data`` describes, validated as :meth:`save` would, without saving it.

        Raises
        ------
        ProfileError
            With ``problems``: every bad field and its fix.
        """
        return _parse(data)

    def is_saved(self, name: str) -> bool:
        """Whether ``name`` is in the profiles file (the built-in ``local`` is not, until saved over)."""
        return name in self._read()

    def names(self) -> list[str]:
        """Names of all profiles, ``local`` first."""
        return ["local", *sorted(n for n in self._read() if n != "local")]

    def all(self) -> list[Profile]:
        """All profiles, ``local`` first."""
        return [self.get(n) for n in self.names()]

    def get(self, name: str) -> Profile:
        """The profile called ``name``.

        Raises
        ------
        ProfileError
            When there is none, listing the names there are.
        """
        try:
            st = os.stat(self.path)
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        cached = self._parsed.get(name)
        if cached is not None and stamp is not None and cached[0] == stamp:
            return cached[1].model_copy()  # every submit asks: parse the file only when it changed
        data = self._read()
        if name in data:
            profile = _parse(data[name])
            self._parsed[name] = (stamp, profile)
            return profile.model_copy()
        if name == "local":
            return LocalProfile()
        raise ProfileError(
            f"unknown profile {name!r}; saved profiles are: {', '.join(self.names())} "
            "(create one with ProfileStore().save(...) or in the ClusterPicker)"
        )

    def save(self, profile: Profile | dict[str, Any]) -> Profile:
        """Validate and save ``profile`` (replacing one of the same name). Returns it."""
        if isinstance(profile, dict):
            profile = _parse(profile)
        else:
            profile = _parse(profile.model_dump())
        data = self._read()
        data[profile.name] = profile.model_dump(mode="json")
        private_dir(self.path.parent)
        write_private(self.path, json.dumps(data, indent=2, sort_keys=True))
        return profile

    def delete(self, name: str) -> None:
        """Delete a saved profile (the built-in ``local`` comes back as default)."""
        data = self._read()
        if name not in data:
            raise ProfileError(f"unknown profile {name!r}; nothing deleted")
        del data[name]
        write_private(self.path, json.dumps(data, indent=2, sort_keys=True))


from . import _hpc_profiles  # noqa: E402,F401  (registers the HPC kinds)
