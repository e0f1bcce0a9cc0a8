"""Every error crystalwidgets raises on purpose, in one place.

Each message names what was wrong and what to do about it; the classes are the
lowest layer of the package and import nothing from it.
"""

from __future__ import annotations

__all__ = [
    "CrystalWidgetsError",
    "ExportError",
    "OptimadeError",
    "PotcarWarning",
    "ProfileError",
    "RecipeUnavailableError",
    "ReadOnlyStoreError",
    "RecipeValidationError",
    "SecretTextWarning",
    "SlurmError",
    "StoreError",
    "StructureError",
    "UncheckedKwargsWarning",
    "UnfitStructureError",
    "UnknownRecipeError",
]


class CrystalWidgetsError(Exception):
    """Base class of the errors crystalwidgets raises on purpose.

    The message always names what was wrong and what to do about it.
    """


class ExportError(CrystalWidgetsError, ValueError):
    """Jobs could not be exported as asked (an unknown job id, a path that cannot be written).

    The message names the argument that was wrong and the fix.
    """


class StructureError(CrystalWidgetsError, ValueError):
    """A structure could not be read, or is not fit for a calculation.

    The message names the source (a file, ``<bytes>``, ``<pasted text>``),
    the format tried, what was wrong and how to fix it.
    """


class UnfitStructureError(StructureError):
    """A structure the recipe cannot handle (elements its method lacks, no cell where one is needed).

    Attributes
    ----------
    recipe
        The recipe's name.
    problems
        ``(field, message)`` pairs; each message says what is wrong and the fix.
    """

    def __init__(self, recipe: str, problems: list[tuple[str, str]], what: str = "this structure") -> None:
        self.recipe = recipe
        self.problems = list(problems)
        self.what = what
        lines = "\n".join(f"  - {field}: {message}" for field, message in self.problems)
        super().__init__(f"{recipe} cannot run on {what}:\n{lines}")

    def __reduce__(self) -> tuple:
        return type(self), (self.recipe, self.problems, self.what)


class UnknownRecipeError(CrystalWidgetsError, LookupError):
    """A recipe name (or code, or kind) that the catalogue does not know.

    Attributes
    ----------
    name
        The name asked for.
    suggestions
        The closest valid names, best first.
    """

    def __init__(self, message: str, name: str = "", suggestions: list[str] | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.suggestions = suggestions or []

    def __reduce__(self) -> tuple:
        return type(self), (str(self), self.name, self.suggestions)


class RecipeUnavailableError(CrystalWidgetsError, ImportError):
    """A recipe whose module cannot be imported here; the message says why."""


class RecipeValidationError(CrystalWidgetsError, ValueError):
    """Recipe parameters with problems; all of them are listed at once.

    Attributes
    ----------
    recipe
        The recipe's name.
    problems
        ``(field, message)`` pairs, one per problem; each message says the fix.
    """

    def __init__(self, recipe: str, problems: list[tuple[str, str]]) -> None:
        self.recipe = recipe
        self.problems = list(problems)
        count = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        lines = "\n".join(f"  - {field}: {message}" for field, message in self.problems)
        super().__init__(f"{count} with the parameters of {recipe}:\n{lines}")

    def __reduce__(self) -> tuple:
        return type(self), (self.recipe, self.problems)


class SecretTextWarning(UserWarning):
    """A profile's free text (``worker_init``...) looks like it holds a token or a password."""


class UncheckedKwargsWarning(UserWarning):
    """Keyword arguments a recipe takes through ``**kwargs`` (usually to its calculator), unchecked."""


class PotcarWarning(UserWarning):
    """A POTCAR a VASP job will use that pymatgen does not know (a corrupted, edited or other file)."""


class ProfileError(CrystalWidgetsError, ValueError):
    """A profile is unknown, invalid, or could not be saved.

    Attributes
    ----------
    problems : list of (field, message)
        Every problem found, by field ("profile" when it concerns the whole record).
    """

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class OptimadeError(CrystalWidgetsError, ValueError):
    """An OPTIMADE search that could not be made: a bad search field, or a provider that cannot
    be reached, does not answer in time, or refuses the query.

    Attributes
    ----------
    field
        The search field at fault (``"elements"``, ``"formula"``, ``"nelements"``, ``"filter"``,
        ``"provider"``, ``"page_limit"``, ``"timeout"``), or ``""`` when the provider is.
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field

    def __reduce__(self) -> tuple:
        return type(self), (str(self), self.field)


class StoreError(CrystalWidgetsError):
    """The store cannot be opened or used; the message says why and what to do."""


class ReadOnlyStoreError(StoreError):
    """The job store can only be read here (read-only file, directory or mount).

    Raised when the store is opened, before anything is written: crystalwidgets
    records every job in the store, so it cannot work from a store it cannot write.

    Attributes
    ----------
    path
        The store file.
    reason
        What is read-only (the file, its directory, or the file system).
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"job store {path} can only be read here: {reason}. crystalwidgets records every "
            "job in it, so it must be writable: make it writable, or set CRYSTALWIDGETS_HOME to "
            "a writable directory to use a store there (nothing was changed)"
        )

    def __reduce__(self) -> tuple:
        return type(self), (self.path, self.reason)


class SlurmError(CrystalWidgetsError):
    """A Slurm command is missing, failed, or did not answer in time."""
