"""Choosing the potential and the cell for an MD run (shared by ``lizrcl md`` and ``lizrcl conductivity``)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np
from ase import Atoms

from lizrcl_tools.errors import SetupError
from lizrcl_tools.keys import ELEMENTS
from lizrcl_tools.potential import PotentialSpec
from lizrcl_tools.potential.spec import device_keyword

DEFAULT_POTENTIAL = "mace"
"""Potential used when neither ``--potential`` nor ``--model`` is given: the shipped MACE model.

``classical`` (the rigid-ion test potential) is seconds instead of minutes and exercises the
same pipeline, but its numbers are not Li2ZrCl6 physics."""


def _cpu_only(name: str, device: str) -> None:
    # Classical and POD pair styles are LAMMPS CPU code: "auto" means the CPU for them, an
    # explicit "cuda" is a request that cannot be met.
    if device == "cuda":
        raise SetupError(
            f"--device cuda: the {name} potential runs on the CPU in LAMMPS; only the MACE pair "
            "style has a GPU path (use --device cpu or auto)"
        )


def _classical(model: str | None, elements: Sequence[str], dtype: str, device: str = "cpu") -> PotentialSpec:
    from lizrcl_tools.potential.classical import classical_potential

    _cpu_only("classical", device)
    if model is not None:
        raise SetupError("--model is for MACE models; the classical potential takes no model file")
    return classical_potential(elements)


MACE_DTYPE = "float32"
"""Precision of the exported MACE model for MD: float32 is ~2x faster on CPU (platform notes)
and ample for sampling; use float64 (``--mace-dtype``) for energy-conservation studies."""


MACE_CORE_REPULSION_A = (1.0, 1.6)
"""ZBL core repulsion overlaid on MACE models in MD, switched off between 1.0 and 1.6 Å (Å).

For models trained without mace's own ZBL term (``--pair_repulsion``): such a small model has
no data below ~70 % of a bond length, and an earlier default model's energy fell without bound
in 600 K MD as two Cl merged (1.2 Å after 0.5 ps, then 0.1 Å). The guard acts only below
1.6 Å, far under every bond in Li–Zr–Cl (≥ 2.4 Å), so physical configurations see the model
alone (tested: identical energies and forces on the crystal). Models that carry their own ZBL
term (the shipped one does) get no second wall. Recorded in run.json."""


def _mace(model: str | None, elements: Sequence[str], dtype: str, device: str = "cpu") -> PotentialSpec:
    try:
        from lizrcl_tools.potential import mace_plugin
    except ImportError as exc:
        raise SetupError(f"the MACE pair style is not available in this installation ({exc})") from exc
    if model is None:
        from lizrcl_tools.potential.evaluate import default_model_path

        model = default_model_path()
        if model is None:
            raise SetupError(
                "no MACE model is shipped in lizrcl_tools/data/ yet; pass --model PATH "
                "or use --potential classical"
            )
    return mace_plugin.mace_potential(
        model, tuple(elements), dtype=dtype, core_repulsion_A=MACE_CORE_REPULSION_A, device=device
    )


def _fast(model: str | None, elements: Sequence[str], dtype: str, device: str = "cpu") -> PotentialSpec:
    from lizrcl_tools.potential.pod import fast_potential

    _cpu_only("fast (POD)", device)
    return fast_potential(model, elements)


POTENTIALS: dict[str, Callable[[str | None, Sequence[str], str, str], PotentialSpec]] = {
    "classical": _classical,
    "mace": _mace,
    "fast": _fast,
}
"""Potential name → factory(model path or None, elements, MACE dtype, device)."""


def resolve_potential(
    name: str | None = None,
    model: str | None = None,
    elements: Sequence[str] = ELEMENTS,
    dtype: str = MACE_DTYPE,
    dispersion: str | None = None,
    d3_cutoff_A: float | None = None,
    d3_cn_cutoff_A: float | None = None,
    device: str = "cpu",
) -> PotentialSpec:
    """Return the :class:`PotentialSpec` for a CLI choice.

    Parameters
    ----------
    name : str, optional
        ``classical`` or ``mace``; default: ``mace`` when ``model`` is given, else
        :data:`DEFAULT_POTENTIAL`.
    model : str, optional
        Path of a MACE model file (implies ``mace``).
    elements : sequence of str
        LAMMPS type order.
    dtype : {"float32", "float64"}
        Precision of a MACE model (ignored by the classical potential).
    dispersion : {"none", "d3bj", "d3zero"}, optional
        Grimme D3 (PBE parameters) overlaid at run time
        (:mod:`lizrcl_tools.potential.dispersion`); default: ``d3bj`` for MACE
        (:data:`~lizrcl_tools.potential.dispersion.DEFAULT_DISPERSION`, chosen by the
        lattice evidence there), ``none`` for the classical potential, which has its own
        Mayer C6/C8 terms (D3 on top double-counts: pipeline tests only). Recorded in
        ``spec.metadata["dispersion"]`` either way.
    d3_cutoff_A, d3_cn_cutoff_A : float, optional
        D3 two-body and coordination-number cutoffs, Å (defaults
        :data:`~lizrcl_tools.potential.dispersion.D3_CUTOFF_A` and ``D3_CN_CUTOFF_A``).
    device : {"cpu", "cuda", "auto"}
        Where the MACE pair style runs its model (``device`` keyword, recorded in
        ``spec.metadata["device"]``); the classical and fast potentials run on the CPU, so
        they refuse ``"cuda"`` and take ``"auto"`` as the CPU.
    """
    from lizrcl_tools.potential.dispersion import d3_settings, default_dispersion, overlay_dispersion

    if name is None:
        name = "mace" if model is not None else DEFAULT_POTENTIAL
    if name not in POTENTIALS:
        raise SetupError(f"unknown potential {name!r}; choose one of {', '.join(POTENTIALS)}")
    d3 = d3_settings(dispersion or default_dispersion(name), d3_cutoff_A, d3_cn_cutoff_A)
    device_keyword(device)  # unknown devices are refused for every potential
    return overlay_dispersion(POTENTIALS[name](model, elements, dtype, device), d3)


def supercell_for(atoms: Atoms, n_atoms: int | None) -> Atoms:
    """Supercell of ``atoms`` with about ``n_atoms`` atoms (``atoms`` itself when None or smaller).

    Uses :func:`lizrcl_tools.structures.make_supercell` when available; otherwise repeats a and b
    equally (keeping a hexagonal cell hexagonal) and c so the cell is as close to
    ``n_atoms`` and as compact as possible.
    """
    if n_atoms is None or n_atoms <= len(atoms):
        return atoms
    try:
        from lizrcl_tools.structures import make_supercell
    except ImportError:
        return _repeat_to(atoms, n_atoms)
    return make_supercell(atoms, n_atoms=n_atoms)


def _repeat_to(atoms: Atoms, n_atoms: int) -> Atoms:
    lengths = atoms.cell.lengths()
    best = None
    for nab, nc in itertools.product(range(1, 9), range(1, 9)):
        n = len(atoms) * nab * nab * nc
        sides = np.array([nab * lengths[0], nab * lengths[1], nc * lengths[2]])
        score = (abs(n - n_atoms), sides.max() / sides.min())
        if best is None or score < best[0]:
            best = (score, (nab, nab, nc))
    return atoms.repeat(best[1])


def attach_python_parts(lmp, spec: PotentialSpec) -> None:
    """Install the parts of a potential that live in Python rather than in LAMMPS commands.

    Only the MACE ``fix external`` fallback (``spec.metadata["backend"] == "fix_external"``)
    has one: its force callback. Every LAMMPS instance of a run needs it again.
    """
    if spec.metadata.get("backend") == "fix_external":
        from lizrcl_tools.potential.mace_plugin import attach_external

        attach_external(lmp, spec)


def tune_process_for(spec: PotentialSpec) -> None:
    """Process-wide speed settings a command line run may opt into for ``spec``.

    For MACE specs: keep glibc from returning the per-step autograd buffers to the kernel
    (:func:`lizrcl_tools.potential.mace_plugin.tune_glibc_malloc`, ~25–40 % faster steps on
    CPU). Library callers are left alone: the setting cannot be undone.
    """
    if spec.metadata.get("backend") in ("plugin", "fix_external"):
        from lizrcl_tools.potential.mace_plugin import tune_glibc_malloc

        tune_glibc_malloc()
