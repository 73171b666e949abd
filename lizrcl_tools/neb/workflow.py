"""NEB runs through the LAMMPS engine: one hop from two structures, or the study's seven.

The energies and forces come from one LAMMPS instance per path
(:class:`lizrcl_tools.potential.lammps_engine.EngineCalculator`, the LAMMPS engine's ASE face) holding the
potential of a :class:`~lizrcl_tools.potential.PotentialSpec`
(:func:`lizrcl_tools.md.setup.resolve_potential`: the shipped MACE model with D3(BJ) by
default, the classical or fast tier on request). Units: eV, Å, eV/Å.

Runs of the study's paths are resumable: a path whose ``NAME.json`` exists with the same
settings and potential is read back, not recomputed; one with other settings is refused
unless ``force`` (the old files are kept as numbered backups).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ase import Atoms

from lizrcl_tools.errors import SetupError
from lizrcl_tools.fileio import backup_path, read_json
from lizrcl_tools.neb.band import NebResult, run_neb
from lizrcl_tools.neb.report import format_table, neb_record, potential_summary, write_neb_outputs
from lizrcl_tools.neb.study_paths import STUDY_TABLE, build_study_paths


def engine_calculator(spec: Any, atoms: Atoms) -> Any:
    """An ASE calculator over one LAMMPS instance holding ``atoms``' species with ``spec``.

    Close it with ``calc.engine.close()`` when done.
    """
    from lizrcl_tools.potential.lammps_engine import EngineCalculator

    return EngineCalculator(spec, atoms)


def run_hop(
    initial: Atoms,
    final: Atoms,
    spec: Any,
    *,
    n_images: int = 7,
    fmax: float = 0.05,
    max_steps: int = 400,
    climb: bool = True,
    via: Any = None,
    mover: int | None = None,
    log: Callable[[str], None] | None = None,
) -> NebResult:
    """Climbing-image NEB of one hop with a LAMMPS potential (endpoints relaxed first).

    Parameters
    ----------
    initial, final : ase.Atoms
        Endpoints: same atoms, same order, same cell.
    spec : PotentialSpec
        The potential (see :func:`lizrcl_tools.md.setup.resolve_potential`).
    n_images, fmax, max_steps, climb, via, mover, log :
        As for :func:`lizrcl_tools.neb.band.run_neb` (``fmax`` in eV/Å).
    """
    calc = engine_calculator(spec, initial)
    try:
        return run_neb(initial, final, calc, n_images=n_images, fmax=fmax, max_steps=max_steps,
                       climb=climb, via=via, mover=mover, log=log)
    finally:
        calc.engine.close()


def relax_perfect_cell(
    spec: Any, repeat: Sequence[int], force_tol: float = 0.01, max_iter: int = 500
) -> tuple[Atoms, dict[str, Any]]:
    """The perfect ``li2zrcl6-p3m1`` supercell with cell and positions relaxed by ``spec``.

    The 27-atom cell is relaxed (LAMMPS ``minimize`` with ``fix box/relax tri`` at zero
    pressure, the LAMMPS engine's :meth:`~lizrcl_tools.potential.lammps_engine.LammpsEngine.minimize`;
    ``force_tol`` is LAMMPS's ftol, the 2-norm of the global force vector in eV/Å) and
    repeated: the perfect crystal is periodic in its own cell, so this is the relaxed
    supercell at a fraction of the cost. The cell comes back in LAMMPS's frame (rotated, same
    lattice vectors a, b, c), atoms in the order of ``build("li2zrcl6-p3m1", repeat=repeat)``.

    Returns
    -------
    atoms, summary
        The relaxed supercell, and the unit cell's energy (eV), lengths (Å), angles (°) and
        those of the ideal cell.
    """
    import numpy as np

    from lizrcl_tools.potential.lammps_engine import LammpsEngine, to_lammps_frame
    from lizrcl_tools.structures import build

    repeat = np.array([int(r) for r in repeat])
    unit = build("li2zrcl6-p3m1")
    engine = LammpsEngine(spec, unit.get_chemical_symbols(), unit.cell[:], unit.positions)
    try:
        expected, _, _ = to_lammps_frame(unit.cell[:], unit.positions)
        if not np.allclose(engine.get_structure()[0], expected, atol=1e-6):
            raise SetupError("LAMMPS changed the lattice basis of the cell (tilt reduction); cannot map sites")
        ev = engine.minimize(relax_cell=True, force_tol=force_tol, max_iter=max_iter)
        relaxed = engine.atoms()
    finally:
        engine.close()
    # Each supercell atom takes the relaxation of its unit-cell atom (fractional coordinates).
    shift = relaxed.get_scaled_positions(wrap=False) - unit.get_scaled_positions(wrap=False)
    shift -= np.round(shift)
    ideal = build("li2zrcl6-p3m1", repeat=tuple(repeat))
    frac = ideal.get_scaled_positions(wrap=False)
    in_unit = np.mod(frac * repeat, 1.0)
    ref = unit.get_scaled_positions()
    super_cell = relaxed.cell[:] * repeat[:, None]
    out = ideal.copy()
    out.set_cell(super_cell, scale_atoms=False)
    new_frac = np.empty_like(frac)
    for i, f in enumerate(in_unit):
        d = (ref - f + 0.5) % 1.0 - 0.5
        j = int(np.argmin(np.linalg.norm(d @ unit.cell[:], axis=1)))
        if unit.get_chemical_symbols()[j] != ideal.get_chemical_symbols()[i]:
            raise SetupError("could not map the supercell onto the unit cell")
        new_frac[i] = frac[i] + shift[j] / repeat
    out.set_scaled_positions(new_frac)
    summary = {
        "energy_eV_per_unit_cell": ev.energy,
        "cellpar_relaxed": [float(x) for x in out.cell.cellpar()],
        "cellpar_ideal": [float(x) for x in ideal.cell.cellpar()],
        "relaxation": f"27-atom cell: LAMMPS minimize cg + fix box/relax tri 0 bar, ftol {force_tol} eV/Å; repeated",
    }
    return out, summary


def neb_between_files(
    initial_path: str | os.PathLike,
    final_path: str | os.PathLike,
    spec: Any,
    outdir: str | os.PathLike,
    *,
    name: str = "neb",
    force: bool = False,
    vasp: bool = True,
    log: Callable[[str], None] | None = None,
    **neb_kw: Any,
) -> dict[str, Any]:
    """Read two structure files, run :func:`run_hop`, write the outputs; return the JSON record."""
    from lizrcl_tools.fileio import read_structure

    outdir = Path(outdir)
    _refuse_or_backup(outdir, name, force)
    initial, final = read_structure(initial_path), read_structure(final_path)
    result = run_hop(initial, final, spec, log=log, **neb_kw)
    record = neb_record(result, name, potential_summary(spec),
                        initial=str(initial_path), final=str(final_path))
    write_neb_outputs(result, outdir, name, record, vasp=vasp)
    return read_json(outdir / f"{name}.json")


def _outputs(outdir: Path, name: str) -> list[Path]:
    return [outdir / f"{name}{suffix}" for suffix in (".json", ".png", ".extxyz", "_vasp")]


def _refuse_or_backup(outdir: Path, name: str, force: bool) -> None:
    present = [p for p in _outputs(outdir, name) if p.exists()]
    if present and not force:
        raise SetupError(f"{present[0]} exists; use --force to run again (old files kept as backups)")
    for p in present:
        os.rename(p, backup_path(p))


def run_study_paths(
    outdir: str | os.PathLike,
    spec: Any,
    *,
    repeat: Sequence[int] = (2, 2, 2),
    names: Sequence[str] | None = None,
    n_images: int = 7,
    fmax: float = 0.05,
    max_steps: int = 400,
    force: bool = False,
    vasp: bool = True,
    relax_cell: bool = True,
    log: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Run the study's seven hops (or ``names``) and write one JSON (plot, band, VASP) per path.

    Parameters
    ----------
    outdir : path
        One ``NAME.json``/``.png``/``.extxyz``/``_vasp`` per path, ``study_paths.txt``.
    spec : PotentialSpec
    repeat : (int, int, int)
        Supercell of the 27-atom P-3m1 cell (see :func:`build_study_paths`).
    names : sequence of str, optional
        Subset of the seven paths.
    n_images, fmax, max_steps :
        Band settings (``fmax`` eV/Å), as for :func:`run_hop`.
    force : bool
        Rerun paths that have results (old files kept as backups).
    vasp : bool
        Also write VASP NEB inputs per path.
    relax_cell : bool
        First relax the perfect supercell (cell and positions) with the potential and build
        the hops on it (default); False: on the ideal cell.
    log : callable, optional

    Returns
    -------
    list of dict
        The JSON records in the study's order; ``study_paths.txt`` in ``outdir`` holds
        :func:`~lizrcl_tools.neb.report.format_table` of them.
    """
    say = log or (lambda _m: None)
    outdir = Path(outdir)
    potential = potential_summary(spec)
    settings = {"n_images": int(n_images), "fmax_eV_A": float(fmax), "max_steps": int(max_steps),
                "repeat": [int(r) for r in repeat], "relax_cell": bool(relax_cell)}
    perfect, cell_summary = None, {"relaxation": "none (ideal cell)"}
    wanted = list(names) if names else list(STUDY_TABLE)
    all_done = not force and all((outdir / f"{n}.json").exists() for n in wanted)
    if relax_cell and not all_done:
        start = time.perf_counter()
        perfect, cell_summary = relax_perfect_cell(spec, repeat)
        say(f"perfect cell relaxed in {time.perf_counter() - start:.0f} s: a, b, c = "
            + ", ".join(f"{x:.3f}" for x in cell_summary["cellpar_relaxed"][:3]) + " Å (ideal "
            + ", ".join(f"{x:.3f}" for x in cell_summary["cellpar_ideal"][:3]) + ")")
    records = []
    for path in build_study_paths(tuple(repeat), list(names) if names else None, perfect=perfect):
        json_path = outdir / f"{path.name}.json"
        if json_path.exists() and not force:
            old = read_json(json_path)
            if old.get("run_settings") == settings and old.get("potential", {}).get("name") == potential["name"]:
                say(f"{path.name}: done before, read back from {json_path}")
                records.append(old)
                continue
            raise SetupError(f"{json_path} holds a run with other settings or potential; use --force")
        _refuse_or_backup(outdir, path.name, force)
        say(f"{path.name}: {path.environment} ({len(path.initial)} atoms, hop {path.info['hop_A']:.2f} Å)")
        start = time.perf_counter()
        result = run_hop(path.initial, path.final, spec, n_images=n_images, fmax=fmax, max_steps=max_steps,
                         via=path.via, mover=path.mover, log=lambda m, n=path.name: say(f"  {n}: {m}"))
        record = neb_record(
            result, path.name, potential, channel=path.channel, environment=path.environment,
            study_barrier_eV=path.study_barrier_eV, study_reaction_energy_eV=path.study_reaction_energy_eV,
            mover=path.mover, structure=dict(path.info, perfect_cell=cell_summary), run_settings=settings,
            note=_note(result, path.mover),
        )
        write_neb_outputs(result, outdir, path.name, record, vasp=vasp)
        records.append(read_json(json_path))
        say(f"{path.name}: barrier {result.barrier_eV:.3f} eV, ΔE {result.reaction_energy_eV:+.3f} eV "
            f"({'converged' if result.converged else 'NOT converged'}, {time.perf_counter() - start:.0f} s)")
    (outdir / "study_paths.txt").write_text(format_table(records) + "\n")
    return records


def _note(result: NebResult, mover: int) -> str:
    """Flags a reader needs: endpoints that relaxed into each other, an unconverged band."""
    import numpy as np

    a, b = result.images[0], result.images[-1]
    from ase.geometry import find_mic

    d, _ = find_mic(b.positions[mover] - a.positions[mover], a.cell, True)
    notes = []
    if float(np.linalg.norm(d)) < 0.5:
        notes.append("endpoints relaxed into the same minimum")
    if not result.converged:
        notes.append(f"max force {result.max_force_eV_A:.2f} eV/Å")
    return "; ".join(notes)


def add_teacher(
    outdir: str | os.PathLike,
    records: list[dict[str, Any]],
    reference: str = "sevennet",
    bare_spec: Any | None = None,
    log: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Evaluate the teacher at every path's band; ``NAME_teacher.json`` per path (kept if present).

    Returns the records with a ``teacher`` entry (:func:`lizrcl_tools.neb.teacher.teacher_profile`).
    """
    from ase.io import read

    from lizrcl_tools.fileio import write_json_atomic
    from lizrcl_tools.neb.teacher import teacher_profile

    say = log or (lambda _m: None)
    outdir = Path(outdir)
    out = []
    for record in records:
        name = record["path"]
        target = outdir / f"{name}_teacher.json"
        if target.exists():
            teacher = read_json(target)
        else:
            start = time.perf_counter()
            images = read(outdir / f"{name}.extxyz", index=":")
            energies = [im["energy_eV"] for im in record["images"]]
            teacher = teacher_profile(images, energies, bare_spec=bare_spec, reference=reference)
            write_json_atomic(target, teacher)
            say(f"{name}: teacher barrier {teacher['barrier_eV']:.3f} eV, ΔE {teacher['reaction_energy_eV']:+.3f} eV "
                f"at the model's images ({time.perf_counter() - start:.0f} s)")
        out.append(dict(record, teacher=teacher))
    (outdir / "study_paths.txt").write_text(format_table(out) + "\n")
    return out
