"""The conductivity job: build the cell, run MD at several temperatures, analyse, return σ(T).

This is what ``lizrcl conductivity`` runs. Every step is restartable: finished run folders
are skipped, interrupted ones resumed, and the analysis (cheap, derived) is redone each time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ase import Atoms

from lizrcl_tools.errors import SetupError
from lizrcl_tools.md.protocols import MDProtocol
from lizrcl_tools.md.runner import run_temperatures
from lizrcl_tools.md.setup import supercell_for
from lizrcl_tools.potential import PotentialSpec

DEFAULT_STRUCTURE = "li2zrcl6-p3m1"
"""Layered trigonal Li2ZrCl6, the study's phase."""

RUNS_SUBDIR = "runs"
ANALYSIS_SUBDIR = "analysis"


def starting_cell(structure: str | Atoms, n_atoms: int | None) -> Atoms:
    """Cell for the runs: an Atoms, a structure file, or a name known to :func:`lizrcl_tools.structures.build`,
    made into a supercell of about ``n_atoms`` atoms."""
    if isinstance(structure, Atoms):
        atoms = structure
    elif Path(structure).is_file():
        from lizrcl_tools.fileio import read_structure

        atoms = read_structure(structure)
    else:
        from lizrcl_tools.structures import build

        # build() makes the supercell itself: it must repeat the cell before removing the
        # placeholder atoms on empty Li sites.
        if n_atoms is not None:
            n_cell = len(build(structure))
            if n_atoms % n_cell:
                # e.g. a 44-atom Li3ZrCl7 cell under the quick protocol's 54: whole cells only.
                import warnings

                from lizrcl_tools.errors import LizrclWarning

                fitted = max(1, n_atoms // n_cell) * n_cell
                warnings.warn(f"{structure}: {n_atoms} atoms is not a whole number of {n_cell}-atom cells; "
                              f"using {fitted} atoms", LizrclWarning, stacklevel=2)
                n_atoms = fitted
        return build(structure, n_atoms=n_atoms)
    return supercell_for(atoms, n_atoms)


def run_conductivity(
    spec: PotentialSpec,
    protocol: MDProtocol,
    out_dir: str | Path,
    structure: str | Atoms = DEFAULT_STRUCTURE,
    temperatures_K: Sequence[float] | None = None,
    mobile: str = "Li",
    progress: bool = True,
    cluster: Any | None = None,
) -> tuple[Any, list[Path]]:
    """Run NPT → NVT at each temperature and analyse the Li+ transport.

    Parameters
    ----------
    spec : PotentialSpec
        Potential.
    protocol : MDProtocol
        MD settings; its temperatures are used unless ``temperatures_K`` is given.
    out_dir : str or Path
        Output folder: ``runs/T<K>/`` per temperature and ``analysis/`` (conductivity.json,
        MSD and Arrhenius plots).
    structure : str or ase.Atoms
        Starting cell, structure file or builder name (default layered Li2ZrCl6).
    temperatures_K : sequence of float, optional
        Temperatures, K.
    mobile : str
        Diffusing element.
    progress : bool
        Progress bars.
    cluster : lizrcl_tools.cluster.ClusterConfig, optional
        Run the temperatures as parallel tasks on these resources (``md`` block); None runs
        them one after the other in this process. Same folders and seeds either way.

    Returns
    -------
    (ConductivityResult, list of Path)
        The analysis result (D in cm²/s, σ in mS/cm, Ea in eV) and the run folders.
    """
    from lizrcl_tools.analysis import analyze_runs

    temps = tuple(float(t) for t in (temperatures_K or protocol.temperatures_K))
    if len(temps) < 1:
        raise SetupError("no temperatures given")
    atoms = starting_cell(structure, protocol.n_atoms)
    out_dir = Path(out_dir)
    if cluster is None:
        dirs = run_temperatures(atoms, spec, temps, out_dir / RUNS_SUBDIR, protocol, mobile=mobile,
                                progress=progress)
    else:
        from lizrcl_tools.md.parallel import run_temperatures_parallel

        dirs = run_temperatures_parallel(atoms, spec, temps, out_dir / RUNS_SUBDIR, protocol, cluster,
                                         mobile=mobile, work_dir=out_dir)
    result = analyze_runs(dirs, out_dir / ANALYSIS_SUBDIR, overwrite=True, progress=progress)
    return result, dirs
