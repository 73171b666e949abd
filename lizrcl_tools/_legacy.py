"""Old import paths (before the stage packages) kept working for one release.

``import lizrcl_tools.collect`` and friends resolve to the module's new home, with a
:class:`DeprecationWarning` naming it. One table instead of a re-export file per old module,
so the old names do not shadow the new files in the tree. Remove after release 0.2.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

#: old module name → new module name
MOVED: dict[str, str] = {
    "lizrcl_tools.build": "lizrcl_tools.structures",
    "lizrcl_tools.vasp_inputs": "lizrcl_tools.vasp.presets",
    "lizrcl_tools.vasp_folders": "lizrcl_tools.vasp.folders",
    "lizrcl_tools.collect": "lizrcl_tools.vasp.collect",
    "lizrcl_tools.calculators": "lizrcl_tools.dataset.references",
    "lizrcl_tools.labelling": "lizrcl_tools.dataset.labelling",
    "lizrcl_tools.lasp": "lizrcl_tools.dataset.lasp",
    "lizrcl_tools.datastats": "lizrcl_tools.dataset.stats",
    "lizrcl_tools.potentials": "lizrcl_tools.potential",
    "lizrcl_tools.potentials.classical": "lizrcl_tools.potential.classical",
    "lizrcl_tools.potentials.mace_plugin": "lizrcl_tools.potential.mace_plugin",
    "lizrcl_tools.training": "lizrcl_tools.potential.train",
    "lizrcl_tools.evaluation": "lizrcl_tools.potential.evaluate",
    "lizrcl_tools.export": "lizrcl_tools.potential.export",
    "lizrcl_tools.plugin": "lizrcl_tools.potential.plugin_build",
    "lizrcl_tools.results": "lizrcl_tools.analysis.results",
    "lizrcl_tools.ssw.engine": "lizrcl_tools.potential.lammps_engine",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, new_name: str) -> None:
        self.new_name = new_name

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(
            f"{spec.name} moved to {self.new_name}; the old path goes away in lizrcl 0.2",
            DeprecationWarning,
            stacklevel=3,
        )
        module = importlib.import_module(self.new_name)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # Already executed under its new name; the import system has just stamped the alias
        # spec on it, so give it back its own (reload, pickling and tracebacks use it).
        module.__spec__ = self._spec


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: object = None, target: object = None):  # noqa: ANN201
        new_name = MOVED.get(fullname)
        if new_name is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(new_name), is_package=False)


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` (idempotent)."""
    if not any(isinstance(finder, _AliasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
