"""Structure generators of the self-learning loop beyond rattles and volume scans.

Each takes a seed and records it in every frame's ``info`` (with ``config_type`` and what it
did: the pushed pair and its distance, σ, the composition drawn):

* :func:`random_cells`: random Li/Zr decorations of close-packed Cl lattices, the series
  (LiCl)1−x(ZrCl4)x over any x range, strained and rattled;
* :func:`contacts`: cells with one pair of atoms (any pair type) pushed to a set distance;
* :func:`hot_rattles`: strained cells with large Gaussian displacements;
* :func:`start_cell` + :func:`~lizrcl_tools.learn.frames.md_frames`: teacher MD of named
  cells, supercells (``name@N``) or random cells (``mixed:x``);
* :func:`ssw_minima`: minima and walk points of SSW minima databases, and :func:`ssw_walks`:
  walks of the previous generation's model whose minima are then taken (the SSW-NN step).

:func:`generate` runs the generators a recipe names for one generation.
Units: Å, K, fs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from ase import Atoms

from lizrcl_tools import keys
from lizrcl_tools.errors import SetupError

CL_CL_A = 3.63
"""Nearest Cl–Cl distance of the close-packed lattices of :func:`mixed_cell`, Å (LiCl's)."""


def _anion_lattice(kind: str, repeat: tuple[int, int, int]) -> Atoms:
    """Close-packed Cl lattice (ccp: rocksalt anions; hcp: NiAs anions) with its octahedral
    holes as placeholder atoms (He)."""
    from ase.build import bulk

    if kind == "ccp":
        cell = bulk("ClHe", "rocksalt", a=CL_CL_A * np.sqrt(2), cubic=True)
    else:
        a, c = CL_CL_A, CL_CL_A * np.sqrt(8 / 3)
        cell = Atoms("Cl2He2", scaled_positions=[(1 / 3, 2 / 3, 0.25), (2 / 3, 1 / 3, 0.75), (0, 0, 0), (0, 0, 0.5)],
                     cell=[[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]], pbc=True)
    return cell.repeat(repeat)


def mixed_cell(x_target: float, rng: np.random.Generator) -> Atoms:
    """(LiCl)1−x(ZrCl4)x: n_Li Li and n_Zr Zr on random octahedral holes of a random ccp or
    hcp lattice of 16 or 24 Cl, empty holes dropped; charge neutral (n_Cl = n_Li + 4 n_Zr).

    n_Zr = x n_Cl / (1 + 3x), rounded, so the realised x (``info["x"]``) is only near the
    target: with 16 Cl the reachable x are 0, 1/13, 1/5, 3/7 and 1.
    """
    kind = str(rng.choice(["ccp", "hcp"]))
    repeats = {"ccp": [(2, 2, 1), (3, 2, 1)], "hcp": [(2, 2, 2), (3, 2, 2)]}[kind]
    lattice = _anion_lattice(kind, repeats[rng.integers(len(repeats))])
    holes = np.flatnonzero(lattice.numbers == 2)
    n_cl = len(lattice) - len(holes)
    n_zr = int(round(x_target * n_cl / (1 + 3 * x_target)))
    n_li = n_cl - 4 * n_zr
    chosen = rng.permutation(holes)[: n_li + n_zr]
    atoms = lattice.copy()
    atoms.numbers[chosen[:n_li]] = 3
    atoms.numbers[chosen[n_li:]] = 40
    del atoms[sorted(set(holes) - set(chosen))]
    atoms = atoms[np.argsort([{3: 0, 40: 1, 17: 2}[z] for z in atoms.numbers], kind="stable")]
    atoms.info = {"framework": kind, "x": n_zr / (n_li + n_zr), "x_target": float(x_target)}
    return atoms


def strained(atoms: Atoms, rng: np.random.Generator, max_strain: float) -> Atoms:
    """Copy with a random symmetric strain, each component uniform in ±``max_strain``."""
    eps = rng.uniform(-max_strain, max_strain, (3, 3))
    out = atoms.copy()
    out.set_cell(out.cell[:] @ (np.eye(3) + 0.5 * (eps + eps.T)), scale_atoms=True)
    return out


def random_cells(n_frames: int, x_range: Sequence[float], seed: int, x_one_fraction: float = 0.0,
                 max_strain: float = 0.04, rattle_A: Sequence[float] = (0.02, 0.12)) -> list[Atoms]:
    """Random decorations (:func:`mixed_cell`) with x uniform in ``x_range`` (a fraction
    ``x_one_fraction`` of them at x = 1, pure ZrCl4 decorations), strained by up to
    ``max_strain`` and rattled by σ uniform in ``rattle_A`` (Å). config_type ``mixed``."""
    lo, hi = (float(v) for v in x_range)
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n_frames):
        x = 1.0 if rng.uniform() < x_one_fraction else float(rng.uniform(lo, hi))
        cell = mixed_cell(x, rng)
        atoms = strained(cell, rng, max_strain)
        sigma = float(rng.uniform(*rattle_A))
        atoms.positions += rng.normal(scale=sigma, size=atoms.positions.shape)
        atoms.info = {keys.CONFIG_TYPE: "mixed", **cell.info, "sigma_A": sigma, "seed": int(seed), "copy": k}
        frames.append(atoms)
    return frames


def nearest_of(atoms: Atoms, i: int, element: str) -> tuple[int, np.ndarray]:
    """Nearest atom of ``element`` to atom ``i`` (not ``i``) and the minimum-image vector
    from ``i`` to it, Å."""
    symbols = np.array(atoms.get_chemical_symbols())
    others = np.array([j for j in np.flatnonzero(symbols == element) if j != i])
    d = atoms.get_distances(i, others, mic=True, vector=True)
    k = int(np.argmin(np.linalg.norm(d, axis=1)))
    return int(others[k]), d[k]


def contacts(cells: Sequence[Atoms], pairs: Mapping[str, Sequence[float]], per_pair: int, seed: int,
             sigma_A: float = 0.08, move_both: bool = True) -> list[Atoms]:
    """Cells with one pair pushed together: for each pair ``"A-B": [lo, hi]`` (Å), ``per_pair``
    frames whose A–B pair (a random A and its nearest B) sits at distances spread evenly over
    [lo, hi]. Cells are taken in turn; one lacking A or B is passed over. The rattle (σ, Å)
    comes first, so the pair distance is exactly the recorded ``distance_A``.
    ``move_both``: the two atoms share the move (else only A moves). config_type ``contact``."""
    rng = np.random.default_rng(seed)
    frames = []
    for pair, (lo, hi) in pairs.items():
        a, b = pair.split("-")
        usable = [c for c in cells if a in c.get_chemical_symbols() and b in c.get_chemical_symbols()
                  and (a != b or c.get_chemical_symbols().count(a) > 1)]
        if not usable:
            raise SetupError(f"contacts: no starting cell holds the pair {pair}")
        for k in range(per_pair):
            atoms = usable[k % len(usable)].copy()
            atoms.positions += rng.normal(scale=sigma_A, size=atoms.positions.shape)
            i = int(rng.choice(np.flatnonzero(np.array(atoms.get_chemical_symbols()) == a)))
            j, vector = nearest_of(atoms, i, b)
            target = lo + (hi - lo) * (k + rng.uniform()) / per_pair
            current = float(np.linalg.norm(vector))
            shift = vector / current * (current - target)
            if move_both:
                atoms.positions[i] += shift / 2
                atoms.positions[j] -= shift / 2
            else:
                atoms.positions[i] += shift
            atoms.info = {keys.CONFIG_TYPE: "contact", "pair": pair, "atoms_ij": [i, j],
                          "distance_A": float(target), "sigma_A": float(sigma_A), "seed": int(seed),
                          "parent": usable[k % len(usable)].info.get("name", "")}
            frames.append(atoms)
    return frames


def hot_rattles(cells: Sequence[Atoms], n_frames: int, sigma_A: Sequence[float], seed: int,
                max_strain: float = 0.03) -> list[Atoms]:
    """``n_frames`` strained cells (cells in turn; strain components up to ``max_strain``,
    shear at 0.3 of that) with Gaussian displacements of σ going evenly from ``sigma_A[0]`` to
    ``sigma_A[1]`` Å (0.1–0.3 Å brackets Li's thermal motion at 600–900 K). config_type ``hot_rattle``."""
    rng = np.random.default_rng(seed)
    weights = np.array([[1, 0.3, 0.3], [0.3, 1, 0.3], [0.3, 0.3, 1]])
    frames = []
    for k in range(n_frames):
        base = cells[k % len(cells)]
        atoms = base.copy()
        atoms.set_cell(atoms.cell[:] @ (np.eye(3) + rng.uniform(-max_strain, max_strain, (3, 3)) * weights),
                       scale_atoms=True)
        sigma = sigma_A[0] + (sigma_A[1] - sigma_A[0]) * k / max(n_frames - 1, 1)
        atoms.positions += rng.normal(scale=sigma, size=atoms.positions.shape)
        atoms.info = {keys.CONFIG_TYPE: "hot_rattle", "sigma_A": float(sigma), "seed": int(seed),
                      "parent": base.info.get("name", "")}
        frames.append(atoms)
    return frames


def start_cell(spec: str, rng: np.random.Generator | None = None) -> Atoms:
    """A starting cell from a name: a builder (``li2zrcl6-p3m1``), a supercell of one with N
    atoms (``li2zrcl6-p3m1@54``), a random decoration (``mixed:0.25``, needs ``rng``), or a
    structure file."""
    from pathlib import Path

    from lizrcl_tools.fileio import read_structure
    from lizrcl_tools.structures import build, make_supercell

    if spec.startswith("mixed:"):
        if rng is None:
            raise SetupError(f"{spec}: a random cell needs a seeded generator")
        atoms = mixed_cell(float(spec.split(":", 1)[1]), rng)
    elif Path(spec).is_file():
        atoms = read_structure(spec)
    elif "@" in spec:
        name, n = spec.split("@", 1)
        atoms = make_supercell(build(name), n_atoms=int(n))
    else:
        atoms = build(spec)
    atoms.info["name"] = spec
    return atoms


def teacher_md_starts(structures: Sequence[str], seed: int, max_strain: float = 0.02) -> list[Atoms]:
    """Starting cells of teacher MD: each spec (:func:`start_cell`) strained along its axes by
    up to ``max_strain`` (the NPT volume at temperature is not known in advance)."""
    rng = np.random.default_rng(seed)
    starts = []
    for spec in structures:
        atoms = start_cell(spec, rng)
        atoms.set_cell(atoms.cell[:] @ (np.eye(3) + np.diag(rng.uniform(-max_strain, max_strain, 3))),
                       scale_atoms=True)
        starts.append(atoms)
    return starts


def ssw_minima(databases: Sequence[str], window_eV_atom: float, max_walk_points: int, seed: int) -> list[Atoms]:
    """Minima and walk points within ``window_eV_atom`` (eV/atom) of each database's lowest
    minimum per formula, at most ``max_walk_points`` walk points per database (seeded choice).
    config_type ``ssw_minimum`` / ``ssw_walk``, and the walks' holes of the potential as
    ``ssw_hole``, as :func:`lizrcl_tools.ssw.export.labelling_frames`."""
    from pathlib import Path

    from lizrcl_tools.ssw.database import MinimaDB
    from lizrcl_tools.ssw.export import labelling_frames

    frames = []
    for db in databases:
        if not Path(db).is_file():
            raise SetupError(f"{db}: no SSW minima database (make one with 'lizrcl ssw')")
        for atoms in labelling_frames(MinimaDB(db), window_eV_atom=window_eV_atom,
                                      max_walk_points=max_walk_points, seed=seed):
            atoms.info.update({"seed": int(seed), "database": str(db)})
            frames.append(atoms)
    return frames


def ssw_walks(starts: Sequence[Atoms], spec: Any, folder: str | os.PathLike, steps: int, walkers: int,
              seed: int, window_eV_atom: float, max_walk_points: int) -> list[Atoms]:
    """SSW walks of a potential from each start (``walkers`` seeds each: ``seed + 100 c + w``)
    into ``folder/minima.db``, then :func:`ssw_minima` of that database: the SSW-NN step, where
    the model's own minima are labelled by the teacher. Each walk checkpoints to
    ``folder/walk_<c>_<w>.json`` and resumes from it.

    Parameters
    ----------
    spec : lizrcl_tools.potential.PotentialSpec
        The walking potential (in the loop: the previous generation's model, without D3).
    steps : int
        SSW steps per walker.
    """
    from pathlib import Path

    from lizrcl_tools.ssw.parameters import SSWParameters
    from lizrcl_tools.ssw.walker import SSWWalker

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "minima.db"
    for c, start in enumerate(starts):
        for w in range(walkers):
            checkpoint = folder / f"walk_{c}_{w}.json"
            walker = (SSWWalker.resume(checkpoint, db=db) if checkpoint.exists() else
                      SSWWalker(start, spec, db, SSWParameters(), seed=seed + 100 * c + w, checkpoint=checkpoint))
            try:
                walker.run(steps, progress=False)
            finally:
                walker.close()
    return ssw_minima([str(db)], window_eV_atom, max_walk_points, seed)


def _md_jobs(name: str, g: Mapping[str, Any], cells: Sequence[Atoms], seed: int, teacher_name: str | None,
             model_path: str | os.PathLike | None) -> list[dict[str, Any]]:
    """The independent MD runs of generator ``name``, in the order their frames are kept:
    ``model_md`` one per cell (the teacher's forces in generation 0), ``teacher_md`` one per
    (temperature t, strained start c) with seed ``seed + 1000 t``. ``calculator`` is the
    reference name a worker builds (:func:`~lizrcl_tools.learn.parallel.md_task`)."""
    if name == "model_md":
        on_teacher = model_path is None
        calculator = teacher_name if on_teacher else f"mace:{model_path}"
        return [{"key": f"model_md-c{c:03d}", "cell": cell, "calculator": calculator,
                 "temperature_K": g["temperature_K"], "steps": g["steps"], "every": g["every"],
                 "timestep_fs": g["timestep_fs"], "seed": seed, "label": "teacher_md" if on_teacher else "model_md",
                 "index": c} for c, cell in enumerate(cells)]
    starts = teacher_md_starts(g["structures"], seed)
    return [{"key": f"teacher_md-t{t:02d}-c{c:03d}", "cell": start, "calculator": teacher_name,
             "temperature_K": temperature, "steps": g["steps"], "every": g["every"], "timestep_fs": g["timestep_fs"],
             "seed": seed + 1000 * t, "label": "teacher_md", "index": c}
            for t, temperature in enumerate(g["temperatures_K"]) for c, start in enumerate(starts)]


def generate(
    settings: Mapping[str, Mapping[str, Any]],
    cells: Sequence[Atoms],
    seed: int,
    teacher: Callable[[], Any],
    model_path: str | os.PathLike | None,
    folder: str | os.PathLike,
    *,
    cluster: Any = None,
    teacher_name: str | None = None,
) -> tuple[list[Atoms], dict[str, int]]:
    """Frames of one generation from the recipe's generator settings.

    Parameters
    ----------
    settings : mapping
        Generator name → settings (checked, defaults filled: :mod:`~lizrcl_tools.learn.recipe`).
    cells : sequence of ase.Atoms
        The generation's starting cells.
    seed : int
        The generation's seed (every generator uses it; recorded in each frame).
    teacher : callable
        Returns the teacher's ASE calculator (loaded on first use).
    model_path : path or None
        The previous generation's MACE model; None in generation 0, where ``model_md`` runs
        with the teacher and ``ssw_walk`` is refused.
    folder : path
        The generation's folder (SSW walks keep their database and checkpoints there).
    cluster : lizrcl_tools.cluster.ClusterConfig, optional
        Run the MD generators (``model_md``, ``teacher_md``) as one task per (temperature,
        cell) on its ``md`` block (:mod:`~lizrcl_tools.learn.parallel`; same frames as here).
    teacher_name : str, optional
        The teacher's reference name (workers build it from that); needed with ``cluster``.

    Returns
    -------
    frames : list of ase.Atoms
    counts : dict
        Generator name → frames it made.
    """
    from lizrcl_tools.learn import frames as fr

    def model() -> Any:
        from lizrcl_tools.dataset.references import get_reference

        return get_reference(f"mace:{model_path}").calculator

    out: list[Atoms] = []
    counts: dict[str, int] = {}
    for name, g in settings.items():
        if name == "rattle":
            new = fr.rattles(cells, g["per_structure"], g["sigma_A"], seed)
        elif name == "volume_scan":
            new = fr.volume_scans(cells, g["scales"], g["sigma_A"], seed)
        elif name in ("model_md", "teacher_md"):
            jobs = _md_jobs(name, g, cells, seed, teacher_name, model_path)
            if cluster is None:
                calc = teacher() if name == "teacher_md" or model_path is None else model()
                new = [frame for job in jobs
                       for frame in fr.md_cell_frames(job["cell"], calc, job["temperature_K"], job["steps"],
                                                      job["every"], job["timestep_fs"], job["seed"], job["label"],
                                                      job["index"])]
            else:
                from lizrcl_tools.learn.parallel import run_md_jobs

                if teacher_name is None:
                    raise SetupError("MD generators on a cluster need the teacher's name (teacher_name)")
                new = run_md_jobs(jobs, cluster, folder)
        elif name == "random_cells":
            new = random_cells(g["n_frames"], g["x_range"], seed, g["x_one_fraction"], g["max_strain"],
                               g["rattle_A"])
        elif name == "contacts":
            new = contacts(cells, g["pairs"], g["per_pair"], seed, g["sigma_A"], g["move_both"])
        elif name == "hot_rattle":
            new = hot_rattles(cells, g["n_frames"], g["sigma_A"], seed, g["max_strain"])
        elif name == "ssw_walk":
            if model_path is None:
                raise SetupError("ssw_walk walks the previous generation's model: not in generation 0")
            from lizrcl_tools.md.setup import resolve_potential

            spec = resolve_potential("mace", str(model_path), dispersion=g["dispersion"])
            starts = [start_cell(spec_name, np.random.default_rng([seed, c]))
                      for c, spec_name in enumerate(g["structures"])]
            new = ssw_walks(starts, spec, os.path.join(folder, "ssw"), g["steps"], g["walkers"], seed,
                            g["window_eV_atom"], g["max_walk_points"])
        elif name == "ssw_minima":
            new = ssw_minima(g["databases"], g["window_eV_atom"], g["max_walk_points"], seed)
        else:
            raise SetupError(f"unknown generator {name!r}")
        counts[name] = len(new)
        out += new
    return out, counts
