"""How a potential enters LAMMPS: one small, serialisable description shared by MD and SSW.

A :class:`PotentialSpec` is the set of LAMMPS commands that define the interaction for a given
element → type order. Stages that drive LAMMPS (``md``, ``ssw``) take a spec and never build
``pair_style`` lines themselves, so the MACE plugin, the ``fix external`` fallback and
classical potentials are interchangeable.

Concrete specs come from :mod:`lizrcl_tools.potential.classical` (cheap analytic potentials
for tests and benchmarks) and :mod:`lizrcl_tools.potential.mace_plugin` (the trained model
running in the ``mace`` plugin pair style).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from lizrcl_tools.errors import SetupError

DEVICES = ("cpu", "cuda", "auto")
"""Values of the pair style's ``device`` keyword (and of ``--device``)."""


def device_keyword(device: str) -> str:
    """The ``pair_style mace/lizrcl`` words for ``device`` (none for the default ``cpu``).

    Raises
    ------
    SetupError
        If ``device`` is not one of :data:`DEVICES`.
    """
    if device not in DEVICES:
        raise SetupError(f"device {device!r} unknown; choose one of {', '.join(DEVICES)}")
    # The default writes nothing, so CPU runs keep the pair_style line (and the run-folder
    # fingerprint) they had before the keyword existed.
    return "" if device == "cpu" else f"device {device}"


@dataclass(frozen=True)
class PotentialSpec:
    """LAMMPS commands that define one potential.

    Attributes
    ----------
    name : str
        Short human name recorded in run metadata (``"mace:lizrcl-default"``, ``"bmh-wolf"``).
    elements : tuple of str
        Element of each LAMMPS atom type, in type order (type 1 = ``elements[0]``).
    atom_style : str
        ``atomic`` for ML potentials, ``charge`` for fixed-charge ionic models.
    pre_commands : tuple of str
        Commands needed before the box exists (``plugin load ...``).
    commands : tuple of str
        ``pair_style``/``pair_coeff``/``set type ... charge`` lines issued after the atoms exist.
    charges : dict, optional
        Charge per element (e) for ``atom_style charge``.
    newton : str
        ``newton`` setting the pair style needs (``on`` for the MACE plugin).
    metadata : dict
        Anything worth recording beside the results (model file, checksum, dtype, device).
    """

    name: str
    elements: tuple[str, ...]
    commands: tuple[str, ...]
    atom_style: str = "atomic"
    pre_commands: tuple[str, ...] = ()
    charges: dict[str, float] = field(default_factory=dict)
    newton: str = "on"
    metadata: dict[str, Any] = field(default_factory=dict)

    def type_of(self, symbol: str) -> int:
        """LAMMPS type (1-based) of ``symbol``; raises ValueError naming the known elements."""
        try:
            return self.elements.index(symbol) + 1
        except ValueError:
            raise ValueError(
                f"element {symbol!r} has no LAMMPS type in potential {self.name!r} "
                f"(types: {', '.join(self.elements)})"
            ) from None

    def all_commands(self) -> list[str]:
        """Commands to issue after the box and atoms exist (pair style, coefficients, charges)."""
        lines = list(self.commands)
        if self.atom_style == "charge":
            for symbol, q in self.charges.items():
                if symbol in self.elements:
                    lines.append(f"set type {self.type_of(symbol)} charge {q}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form recorded in run metadata."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PotentialSpec":
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        for key in ("elements", "commands", "pre_commands"):
            data[key] = tuple(data.get(key, ()))
        return cls(**data)


def type_order(symbols: Sequence[str], spec: PotentialSpec) -> list[int]:
    """LAMMPS type of every atom symbol under ``spec``."""
    return [spec.type_of(s) for s in symbols]
