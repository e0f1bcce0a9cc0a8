"""Profile models: a profile says where jobs run; each kind is a pydantic model.

A kind names its runner class (``"module:Class"``, imported on first use) and has a
pre-flight :meth:`Profile.check` that returns every problem at once, each naming the
field and the fix. The built-in ``local`` kind is here; engine kinds live with their
runner (``crystalwidgets.runners.parsl.profiles``) and are found through
:mod:`.kinds`.
"""

from __future__ import annotations

import os
import re
from importlib import import_module
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["NAME_PATTERN", "SECRET_NAME", "LocalProfile", "Profile"]

#: What a profile name may look like.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
#: Field names that look like a secret: refused, profiles never store one.
SECRET_NAME = re.compile(r"pass(word)?|token|secret|api[_-]?key|private[_-]?key", re.I)


class Profile(BaseModel):
    """Base of all profile kinds. Unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    #: The kind's name, also the discriminator in saved files.
    kind: str
    name: str = Field(pattern=NAME_PATTERN, description="Name the profile is picked by.")
    description: str = Field("", max_length=500, description="Free text shown in the picker.")

    #: "module:Class" of the runner, imported on first use.
    runner: ClassVar[str]

    @classmethod
    def runner_class(cls) -> type:
        """The runner class serving this kind of profile (imports its engine)."""
        module, _, name = cls.runner.partition(":")
        return getattr(import_module(module), name)

    def check(self, *, deep: bool = False) -> list[str]:
        """Pre-flight check. Returns every problem found as a message; empty when fine.

        ``deep=True`` may run a tiny job on the target (slower, still bounded). What is
        only worth a warning (a secret in free text) is in :meth:`warnings`.
        """
        return []

    @property
    def runs_here(self) -> bool:
        """True when this profile's jobs run on this machine, with this kernel's PATH.

        Then a recipe whose program is missing here (``vasp_std``...) is refused at submit;
        on a cluster profile it may be installed, so it is allowed.
        """
        return False

    def actions(self) -> list[dict[str, str]]:
        """What the user can do for this profile from the picker, beside checking it.

        Returns
        -------
        list of dict
            One per action: ``name`` (passed to :meth:`run_action`), ``label`` (the
            button's text) and ``help`` (what it does, where its files are). Empty for
            most kinds; ``covalent`` offers to start and stop its local server.
        """
        return []

    def action_timeout(self, name: str) -> float:
        """Seconds :meth:`run_action` ``name`` may take before the picker reports it unfinished."""
        return 60.0

    def run_action(self, name: str) -> str:
        """Do the action ``name`` of :meth:`actions` (bounded; blocking: run it off the kernel's thread).

        Returns
        -------
        str
            What was done, in words.

        Raises
        ------
        ProfileError
            When this kind has no such action; the action's own error when it failed.
        """
        from ..errors import ProfileError

        offered = ", ".join(a["name"] for a in self.actions()) or "none"
        raise ProfileError(f"profile {self.name!r} ({self.kind}) has no action {name!r}; it offers: {offered}")

    def warnings(self) -> list[tuple[str, str]]:
        """What to warn about without refusing the profile: free text that looks like a secret.

        Returns
        -------
        list of (field, message)
            One per line of a text field (``worker_init``, ``scheduler_options``,
            ``description``...) or value of a mapping of text (``env['TOKEN']``, read
            as ``TOKEN=value``) that looks like a token, a password or a key; the
            message says what to do instead. The picker shows them at the field, with a
            check and at save; :meth:`ProfileStore.save` warns with
            :class:`~crystalwidgets.errors.SecretTextWarning`.
        """
        from .checks import secret_text_problems

        texts: dict[str, str] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, str) and name not in ("kind", "name"):
                texts[name] = value
            elif isinstance(value, dict):  # environment variables and the like: NAME=value
                texts.update({f"{name}[{k!r}]": f"{k}={v}" for k, v in value.items() if isinstance(v, str)})
        return secret_text_problems(texts)


class LocalProfile(Profile):
    """Jobs run as processes on this machine, no server: the embedded default."""

    kind: Literal["local"] = "local"
    name: str = Field("local", pattern=NAME_PATTERN)
    max_workers: int | None = Field(
        None, ge=1, le=1024, description="Jobs running at once (default: number of cores)."
    )
    runner: ClassVar[str] = "crystalwidgets.runners.local:LocalRunner"

    @property
    def runs_here(self) -> bool:
        return True

    def check(self, *, deep: bool = False) -> list[str]:
        from .checks import oversubscription_problems

        return oversubscription_problems("max_workers", self.max_workers, os.cpu_count() or 1)
