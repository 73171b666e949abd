"""Structure builders: the stable entry point ``lizrcl_tools.build``.

The implementation lives in :mod:`lizrcl_tools.structures` (prototypes, mixing, supercells,
checks); this module re-exports the public API so callers write::

    from lizrcl_tools.build import build, available_builders, mix, make_supercell
"""

from __future__ import annotations

from lizrcl_tools.structures import (
    MIN_DISTANCE,
    SYMPREC,
    available_builders,
    build,
    composition,
    describe,
    make_supercell,
    min_pair_distances,
    mix,
    space_group,
    total_charge,
    write_structure,
)

__all__ = [
    "MIN_DISTANCE",
    "SYMPREC",
    "available_builders",
    "build",
    "composition",
    "describe",
    "make_supercell",
    "min_pair_distances",
    "mix",
    "space_group",
    "total_charge",
    "write_structure",
]
