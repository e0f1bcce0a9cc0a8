"""The widgets: a Python class of traitlets plus one bundled ESM module each.

``App`` composes them around one :class:`~crystalwidgets.JobManager`.
"""

from ._app import App
from ._form import RecipeForm
from ._picker import ClusterPicker
from ._table import JobTable
from ._viewer import StructureViewer

__all__ = ["App", "ClusterPicker", "JobTable", "RecipeForm", "StructureViewer"]
