"""Saved profiles: ``local`` plus what is in ``<config dir>/profiles.json`` (0600).

Inside a Slurm allocation there is one more built-in, ``allocation``: local processes
on the allocation's own cores (:mod:`.allocation`).

No secret is ever stored: a field whose name looks like one is refused.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .._files import config_dir, private_dir, write_private
from ..errors import ProfileError, SecretTextWarning
from .allocation import ALLOCATION_PROFILE, Allocation, allocation_profile, current_allocation
from .base import SECRET_NAME, LocalProfile, Profile
from .kinds import kind_class, kind_names

__all__ = ["ProfileStore", "parse_profile"]


def parse_profile(data: dict[str, Any]) -> Profile:
    """The profile ``data`` describes, validated; :class:`ProfileError` lists every problem."""
    kind = data.get("kind")
    name = data.get("name", "?")
    if kind not in kind_names():
        fix = f"unknown kind {kind!r}; use one of {', '.join(sorted(kind_names()))}"
        raise ProfileError(f"profile {name!r}: {fix}", [("kind", fix)])
    secrets = [k for k in data if SECRET_NAME.search(k)]
    if secrets:
        fix = "looks like a secret; profiles never store passwords or tokens (Slurm uses your own login)"
        raise ProfileError(f"profile {name!r}: field {secrets[0]!r} {fix}", [(secrets[0], fix)])
    try:
        return kind_class(kind).model_validate(data)
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
    allocation
        The Slurm allocation this kernel runs in; default: read from the environment
        (:func:`~.allocation.current_allocation`) on first use. Inside one, the built-in
        ``allocation`` profile runs jobs on its cores.
    """

    _UNREAD = object()

    def __init__(self, path: str | os.PathLike | None = None, *, allocation: Any = _UNREAD) -> None:
        self.path = Path(path) if path is not None else config_dir() / "profiles.json"
        self._parsed: dict[str, tuple[tuple[int, int, int] | None, Profile]] = {}
        self._allocation = allocation

    @property
    def allocation(self) -> Allocation | None:
        """The Slurm allocation this kernel runs in (read once), or None."""
        if self._allocation is ProfileStore._UNREAD:
            self._allocation = current_allocation()
        return self._allocation

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
        return parse_profile(data)

    def is_saved(self, name: str) -> bool:
        """Whether ``name`` is in the profiles file (the built-in ``local`` is not, until saved over)."""
        return name in self._read()

    def names(self) -> list[str]:
        """Names of all profiles, ``local`` first (then ``allocation`` inside a Slurm job)."""
        saved = self._read()
        builtin = ["local", *([ALLOCATION_PROFILE] if self.allocation is not None else [])]
        return [*builtin, *sorted(n for n in saved if n not in builtin)]

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
            profile = parse_profile(data[name])
            self._parsed[name] = (stamp, profile)
            return profile.model_copy()
        if name == "local":
            return LocalProfile()
        if name == ALLOCATION_PROFILE:  # outside an allocation too: its jobs are still reattached
            return allocation_profile(self.allocation)
        raise ProfileError(
            f"unknown profile {name!r}; saved profiles are: {', '.join(self.names())} "
            "(create one with ProfileStore().save(...) or in the ClusterPicker)"
        )

    def save(self, profile: Profile | dict[str, Any]) -> Profile:
        """Validate and save ``profile`` (replacing one of the same name). Returns it.

        Free text that looks like a secret (:meth:`Profile.warnings`) is saved as given
        and warned about with :class:`~crystalwidgets.errors.SecretTextWarning`.
        """
        if isinstance(profile, dict):
            profile = parse_profile(profile)
        else:
            profile = parse_profile(profile.model_dump())
        data = self._read()
        data[profile.name] = profile.model_dump(mode="json")
        private_dir(self.path.parent)
        write_private(self.path, json.dumps(data, indent=2, sort_keys=True))
        for field, message in profile.warnings():  # saved as asked, but said
            warnings.warn(SecretTextWarning(f"profile {profile.name!r}: {field}: {message}"), stacklevel=2)
        return profile

    def delete(self, name: str) -> None:
        """Delete a saved profile (the built-in ``local`` comes back as default)."""
        data = self._read()
        if name not in data:
            raise ProfileError(f"unknown profile {name!r}; nothing deleted")
        del data[name]
        write_private(self.path, json.dumps(data, indent=2, sort_keys=True))
