"""Old function names kept working for one release, each with a :class:`DeprecationWarning`.

Module renames live in :mod:`lizrcl_tools._legacy`; this is the same for a function renamed
inside its module. Remove every :func:`renamed` alias after release 0.2.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any


def renamed(new: Callable[..., Any], old_name: str, use: str | None = None) -> Callable[..., Any]:
    """A wrapper of ``new`` under ``old_name`` that warns, then calls ``new`` unchanged.

    Parameters
    ----------
    new : callable
        The function under its new name.
    old_name : str
        Fully qualified old name, e.g. ``"lizrcl_tools.fileio.read_frames"``.
    use : str, optional
        What to call instead, when it is not ``new`` itself (``new`` then keeps the old
        behaviour for the release).
    """
    use = use or f"{new.__module__}.{new.__qualname__}"
    message = f"{old_name} is deprecated, use {use}; the old name goes away in lizrcl 0.2"

    @functools.wraps(new)
    def alias(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        return new(*args, **kwargs)

    module, _, name = old_name.rpartition(".")
    alias.__name__ = alias.__qualname__ = name
    alias.__module__ = module
    alias.__doc__ = f"Deprecated: use :func:`{use}`."
    return alias
