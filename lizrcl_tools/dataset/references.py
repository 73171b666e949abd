"""Registry of reference ("teacher") calculators used to label training frames.

A reference is named by a short string on the command line (``lizrcl label --reference
sevennet``). The registry is a table of one-line declarations; an unknown name raises
:class:`~lizrcl_tools.errors.SetupError` listing the known ones.

=============  ==========================================================================
name           what it is
=============  ==========================================================================
``sevennet``   SevenNet-0 (``7net-0``, 11 Jul 2024 checkpoint) from the ``sevenn`` wheel;
               the weights ship inside the wheel, so it runs offline. Raw PBE energy scale.
``chgnet``     CHGNet 0.3.0 (weights inside the ``chgnet`` wheel; energies include the
               MP2020 anion corrections). Not a default dependency.
``mace:PATH``  any MACE model file (e.g. an earlier ``lizrcl train`` result).
``toy-lj``     ASE Lennard-Jones (σ = 3 Å, ε = 0.01 eV, cut-off 7 Å). Element-blind, for
               tests and demos only: it is not a model of Li–Zr–Cl.
``vasp``       not an in-process calculator: use ``lizrcl vasp write`` / ``lizrcl vasp collect``.
=============  ==========================================================================

Units of every calculator here: energy eV, forces eV/Å, stress eV/Å³ (ASE sign, Voigt).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lizrcl_tools.errors import SetupError


@dataclass(frozen=True)
class Reference:
    """A reference calculator and the provenance string recorded with every label.

    Attributes
    ----------
    calculator : ase.calculators.calculator.Calculator
        The ASE calculator (energy eV, forces eV/Å, stress eV/Å³).
    name : str
        Registry name as given by the user (``"sevennet"``, ``"mace:/path/m.model"``).
    version : str
        Model and package version, e.g. ``"7net-0 (sevenn 0.10.4)"``.
    """

    calculator: Any
    name: str
    version: str


def _package_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _sevennet(arg: str | None, device: str, dtype: str) -> Reference:
    # mace must be imported before e3nn under torch >= 2.6 (e3nn's constants file fails the
    # weights-only torch.load otherwise); sevenn imports e3nn at module top.
    import mace  # noqa: F401

    try:
        from sevenn.calculator import SevenNetCalculator
    except ImportError as exc:
        raise SetupError(
            "reference 'sevennet' needs the sevenn package: pip install 'sevenn>=0.10,<0.14'"
        ) from exc
    model = arg or "7net-0"
    calc = SevenNetCalculator(model, device=device)
    return Reference(calc, "sevennet", f"{model} (sevenn {_package_version('sevenn')})")


def _chgnet(arg: str | None, device: str, dtype: str) -> Reference:
    try:
        from chgnet.model.dynamics import CHGNetCalculator
    except ImportError as exc:
        raise SetupError(
            "reference 'chgnet' needs the chgnet package, which is not installed by default: "
            "pip install 'chgnet==0.3.0' (its weights ship inside the wheel). Note that CHGNet "
            "energies include MP2020 anion corrections, so do not mix its labels with sevennet's."
        ) from exc
    calc = CHGNetCalculator(use_device=device)
    return Reference(calc, "chgnet", f"chgnet {_package_version('chgnet')}")


def _mace(arg: str | None, device: str, dtype: str) -> Reference:
    if not arg:
        raise SetupError("reference 'mace' needs a model path: --reference mace:PATH")
    path = Path(arg)
    if not path.is_file():
        raise SetupError(f"MACE model {path} does not exist")
    return Reference(load_mace(path, device, dtype), f"mace:{path}", f"{path.name} (mace-torch "
                     f"{_package_version('mace-torch')})")


def _toy_lj(arg: str | None, device: str, dtype: str) -> Reference:
    from ase.calculators.lj import LennardJones

    # smooth=True so energies and forces are continuous at the cut-off (learnable by MACE).
    calc = LennardJones(sigma=3.0, epsilon=0.01, rc=7.0, smooth=True)
    return Reference(calc, "toy-lj", f"ase LennardJones sigma=3 eps=0.01 rc=7 (ase {_package_version('ase')})")


def _vasp(arg: str | None, device: str, dtype: str) -> Reference:
    raise SetupError(
        "VASP labels are not computed in-process: write inputs with `lizrcl vasp write`, run "
        "VASP on your cluster, then gather REF_energy/REF_forces/REF_stress with "
        "`lizrcl vasp collect`"
    )


# name -> (factory(arg, device, dtype), one-line description)
REFERENCES: dict[str, tuple[Callable[[str | None, str, str], Reference], str]] = {
    "sevennet": (_sevennet, "SevenNet-0 (7net-0) from the sevenn wheel, offline"),
    "chgnet": (_chgnet, "CHGNet 0.3.0 (pip install chgnet==0.3.0)"),
    "mace": (_mace, "a MACE model file: mace:PATH"),
    "toy-lj": (_toy_lj, "ASE Lennard-Jones toy, tests and demos only"),
    "vasp": (_vasp, "use `lizrcl vasp write` / `lizrcl vasp collect`"),
}


def get_reference(spec: str, device: str = "cpu", dtype: str = "float64") -> Reference:
    """Build the reference calculator named by ``spec``.

    Parameters
    ----------
    spec : str
        ``NAME`` or ``NAME:ARG`` (``sevennet``, ``sevennet:7net-0``, ``mace:model.model``).
    device : str
        Torch device for machine-learned references (``cpu`` or ``cuda``).
    dtype : str
        ``float64`` or ``float32`` (MACE references only).

    Returns
    -------
    Reference
        The calculator with its provenance string.

    Raises
    ------
    SetupError
        Unknown name (the message lists the known ones) or a missing optional package.
    """
    name, _, arg = spec.partition(":")
    if name not in REFERENCES:
        known = ", ".join(REFERENCES)
        raise SetupError(f"unknown reference {spec!r}; known references: {known}")
    factory, _ = REFERENCES[name]
    return factory(arg or None, device, dtype)


def load_mace(path: str | Path, device: str = "cpu", dtype: str = "float64") -> Any:
    """Load a MACE model file as an ASE calculator (eV, eV/Å, eV/Å³).

    Parameters
    ----------
    path : str or Path
        A ``.model`` file written by mace-torch training.
    device : str
        ``cpu`` or ``cuda``.
    dtype : str
        ``float64`` or ``float32``.
    """
    from mace.calculators import MACECalculator

    if dtype not in ("float64", "float32"):
        raise SetupError(f"dtype must be float64 or float32, not {dtype!r}")
    path = Path(path)
    if not path.is_file():
        raise SetupError(f"MACE model {path} does not exist")
    return MACECalculator(model_paths=str(path), device=device, default_dtype=dtype)
