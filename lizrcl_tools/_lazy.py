"""Lazy package exports: ``from lizrcl_tools.potential import train`` without importing torch
until ``train`` is used.

Each package that exports names from heavy submodules keeps a table ``{name: module}`` and
installs the two module hooks (PEP 562) built here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: Mapping[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level ``__getattr__`` and ``__dir__`` for ``package`` that resolve ``exports``.

    Parameters
    ----------
    package : str
        The package's ``__name__`` (for the error message).
    exports : mapping
        Exported name → fully qualified module that defines it.
    namespace : mapping
        The package's ``globals()``, so ``dir()`` lists eager names as well.

    Returns
    -------
    (__getattr__, __dir__)
        Assign both in the package's ``__init__``.
    """

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
