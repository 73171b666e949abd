"""The ``mace/lizrcl`` LAMMPS plugin against mace's own ASE calculator.

A tiny random MACE model (seeded, elements Li, Zr, Cl in the unsorted order 3, 40, 17, so the
type → one-hot mapping is exercised) is built in-process; nothing is downloaded. The plugin is
built once into the user's cache (first run ~1-3 min on 2 cores).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import mace.modules  # noqa: F401  (before e3nn: torch >= 2.6 weights-only loading)

from lizrcl_tools import cli
from lizrcl_tools.potential import plugin_build as plugin
from lizrcl_tools.errors import LizrclWarning, ParseError, SetupError
from lizrcl_tools.potential.export import export_model, load_exported, sidecar_path
from lizrcl_tools.potential.mace_plugin import (
    mace_potential,
    make_lammps,
    single_point,
)

pytestmark = pytest.mark.lammps

R_MAX = 4.5  # Å
ATOMIC_NUMBERS = [3, 40, 17]
E0 = {"Li": -1.9, "Zr": -8.5, "Cl": -1.6}  # isolated-atom energies of the tiny model, eV


def build_tiny_model(path: Path, seed: int = 0, pair_repulsion: bool = False) -> Path:
    """Save a random 2-layer ScaleShiftMACE (8x0e+8x1o, r_max 4.5 Å) to ``path``.

    ``pair_repulsion`` adds mace's ZBL term, as ``mace_run_train --pair_repulsion`` does.
    """
    import torch
    from e3nn import o3

    torch.manual_seed(seed)
    block = mace.modules.interaction_classes["RealAgnosticResidualInteractionBlock"]
    model = mace.modules.ScaleShiftMACE(
        r_max=R_MAX,
        num_bessel=6,
        num_polynomial_cutoff=5,
        max_ell=2,
        interaction_cls=block,
        interaction_cls_first=block,
        num_interactions=2,
        num_elements=3,
        hidden_irreps=o3.Irreps("8x0e+8x1o"),
        MLP_irreps=o3.Irreps("8x0e"),
        atomic_energies=np.array([E0["Li"], E0["Zr"], E0["Cl"]]),
        avg_num_neighbors=10.0,
        atomic_numbers=ATOMIC_NUMBERS,
        correlation=2,
        gate=torch.nn.functional.silu,
        # Scale 10 gives forces of ~1 eV/Å, like a trained model, so 1e-6 eV/Å is a real check.
        atomic_inter_scale=10.0,
        atomic_inter_shift=0.0,
        pair_repulsion=pair_repulsion,
    )
    torch.save(model, path)
    return path


def random_cell(cell, counts: dict[str, int], min_dist: float, seed: int):
    """Atoms placed uniformly at random in ``cell`` with a minimum image distance (Å)."""
    from ase import Atoms
    from ase.geometry import get_distances

    rng = np.random.default_rng(seed)
    symbols = [s for s, n in counts.items() for _ in range(n)]
    cell = np.asarray(cell, float)
    positions: list[np.ndarray] = []
    for _ in symbols:
        for _attempt in range(5000):
            trial = rng.random(3) @ cell
            if not positions:
                break
            _, d = get_distances(trial, np.array(positions), cell=cell, pbc=True)
            if d.min() > min_dist:
                break
        else:
            raise RuntimeError("could not place atoms; lower min_dist")
        positions.append(trial)
    return Atoms(symbols=symbols, positions=positions, cell=cell, pbc=True)


def triclinic_cell():
    """36 atoms (Li8 Zr4 Cl24), tilted cell ~8.5 Å wide: every image distance > r_max."""
    cell = [[8.6, 0.0, 0.0], [1.7, 8.2, 0.0], [-1.1, 1.3, 8.9]]
    return random_cell(cell, {"Li": 8, "Zr": 4, "Cl": 24}, 2.1, seed=11)


def small_trigonal_cell():
    """9 atoms (Li2 Zr Cl6) in a trigonal cell (xy = -a/2) far smaller than 2 r_max, so
    each atom sees several images of the same neighbour, and of itself."""
    a, c = 5.3, 5.8
    cell = [[a, 0.0, 0.0], [-a / 2, a * np.sqrt(3) / 2, 0.0], [0.0, 0.0, c]]
    return random_cell(cell, {"Li": 2, "Zr": 1, "Cl": 6}, 2.0, seed=5)


_REFERENCES: dict = {}


def ase_reference(model_file: Path, atoms, dtype: str = "float64") -> dict:
    """Energy (eV), forces (eV/Å) and stress (eV/Å³) from mace's MACECalculator (memoised)."""
    import torch

    key = (str(model_file), dtype, atoms.get_chemical_formula(), atoms.positions.tobytes())
    if key in _REFERENCES:
        return _REFERENCES[key]
    from mace.calculators import MACECalculator

    model = torch.load(model_file, map_location="cpu", weights_only=False)
    atoms = atoms.copy()
    atoms.calc = MACECalculator(models=model, device="cpu", default_dtype=dtype)
    _REFERENCES[key] = {
        "energy": atoms.get_potential_energy(),
        "forces": atoms.get_forces(),
        "stress": atoms.get_stress(voigt=True),
        # MACECalculator reports site energies without the isolated-atom E0; LAMMPS includes it.
        "node_energy": np.array(atoms.calc.results["node_energy"])
        + np.array([E0[s] for s in atoms.get_chemical_symbols()]),
    }
    return _REFERENCES[key]


@pytest.fixture(scope="module", autouse=True)
def private_model_cache(tmp_path_factory):
    """Exports made by mace_potential go to a temporary cache, not the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIZRCL_MODEL_CACHE", str(tmp_path_factory.mktemp("model-cache")))
        yield


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("mace") / "tiny.model")


@pytest.fixture(scope="module")
def zbl_model_file(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("mace") / "tiny-zbl.model", seed=1,
                            pair_repulsion=True)


@pytest.fixture(scope="module")
def exported(model_file: Path) -> Path:
    return Path(export_model(model_file, model_file.with_name("tiny-lammps.pt"),
                             dtype="float64").path)


@pytest.fixture(scope="module")
def plugin_so() -> Path:
    try:
        return plugin.ensure_plugin()
    except SetupError as exc:
        pytest.skip(f"MACE LAMMPS plugin cannot be built here: {exc}")


# --- export ------------------------------------------------------------------------------


def test_export_round_trip(model_file: Path, exported: Path):
    info = load_exported(exported)
    assert info.atomic_numbers == tuple(ATOMIC_NUMBERS)
    assert info.elements == ("Li", "Zr", "Cl")
    assert info.r_max == pytest.approx(R_MAX)
    assert info.dtype == "float64" and info.num_interactions == 2
    meta = json.loads(sidecar_path(exported).read_text())
    assert meta["elements"] == ["Li", "Zr", "Cl"]
    assert meta["units"]["energy"] == "eV" and meta["units"]["lammps_units"] == "metal"
    assert meta["source"] == str(model_file)
    # Hidden 8x0e+8x1o: only the last product is invariant, so only it is fused (the plugin
    # tests below compare this export with mace's own calculator).
    assert info.fused_contractions == 1 and meta["fused_contractions"] == 1


def test_export_float32_and_tampered_sidecar(model_file: Path, tmp_path: Path):
    out = tmp_path / "m32.pt"
    assert export_model(model_file, out, dtype="float32").dtype == "float32"
    assert load_exported(out).dtype == "float32"
    meta = json.loads(sidecar_path(out).read_text())
    meta["atomic_numbers"] = [3, 17, 40]
    sidecar_path(out).write_text(json.dumps(meta))
    with pytest.raises(ParseError, match="atomic_numbers"):
        load_exported(out)


def test_export_multi_head_needs_head(model_file: Path, tmp_path: Path):
    import torch

    model = torch.load(model_file, map_location="cpu", weights_only=False)
    model.heads = ["dft", "pt_head"]
    path = tmp_path / "two_heads.model"
    torch.save(model, path)
    with pytest.raises(SetupError, match="2 heads.*dft, pt_head"):
        export_model(path, tmp_path / "x.pt")


def test_export_cli_smoke(model_file: Path, tmp_path: Path):
    out = tmp_path / "cli-lammps.pt"
    assert cli.run(["export", str(model_file), "-o", str(out), "--dtype", "float32"]) == 0
    assert load_exported(out).dtype == "float32"


# --- plugin build ------------------------------------------------------------------------


def test_cache_key_tracks_versions():
    base = plugin.BuildInputs("2025.7.22.4.0", "22 Jul 2025", "2.13.0", "g++", "g++ 12", "abc")
    other_torch = plugin.BuildInputs("2025.7.22.4.0", "22 Jul 2025", "2.12.0", "g++", "g++ 12", "abc")
    other_src = plugin.BuildInputs("2025.7.22.4.0", "22 Jul 2025", "2.13.0", "g++", "g++ 12", "abd")
    assert len({base.key(), other_torch.key(), other_src.key()}) == 3
    assert plugin.lammps_version_string(20250722) == "22 Jul 2025"
    assert plugin.lammps_version_string(20230802) == "2 Aug 2023"


def test_cache_root_respects_environment(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("LIZRCL_PLUGIN_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert plugin.cache_root() == tmp_path / "lizrcl" / "plugin"
    monkeypatch.setenv("LIZRCL_PLUGIN_CACHE", str(tmp_path / "p"))
    assert plugin.cache_root() == tmp_path / "p"


def test_missing_compiler_is_a_setup_error(monkeypatch):
    monkeypatch.setenv("CXX", "no-such-compiler")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SetupError, match="no C\\+\\+20 compiler"):
        plugin.find_compiler()


def test_concurrent_builds_compile_once(monkeypatch, tmp_path: Path):
    """Two builders at once: the lock lets one compile, the other reuses its result."""
    import threading

    monkeypatch.setenv("LIZRCL_PLUGIN_CACHE", str(tmp_path / "cache"))
    calls = tmp_path / "calls.txt"

    def fake_compile(inputs, output):
        # Stands in for g++: slow enough that the second builder must wait on the lock.
        code = (
            "import sys, time; time.sleep(1.0); "
            f"open({str(calls)!r}, 'a').write('x'); open(sys.argv[1], 'w').write('so')"
        )
        return [sys.executable, "-c", code, str(output)]

    monkeypatch.setattr(plugin, "compile_command", fake_compile)
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(plugin.build_plugin())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and results[0] == results[1]
    assert calls.read_text() == "x"
    assert results[0].read_text() == "so"
    # Only the finished library, its build record and log remain: no half-written temp file.
    assert sorted(p.name for p in results[0].parent.iterdir()) == [
        "build.json", "build.log", plugin.PLUGIN_NAME,
    ]


def test_plugin_info_cli_smoke(plugin_so: Path, capsys):
    assert cli.run(["plugin", "info"]) == 0
    out = capsys.readouterr().out
    assert "22 Jul 2025" in out and str(plugin_so) in out


# --- physics: plugin == ASE MACECalculator -----------------------------------------------


@pytest.mark.parametrize("make_atoms", [triclinic_cell, small_trigonal_cell])
@pytest.mark.parametrize("mode", ["single", "ghost"])
def test_plugin_matches_ase_calculator(plugin_so, model_file, exported, make_atoms, mode):
    atoms = make_atoms()
    ref = ase_reference(model_file, atoms)
    lmp = make_lammps(atoms, mace_potential(exported, mode=mode))
    got = single_point(lmp, atoms)
    lmp.commands_list(["compute lizrcl_pe all pe/atom", "run 0 post no"])
    per_atom = np.array(lmp.numpy.extract_compute("lizrcl_pe", 1, 1), float)
    # Local order is LAMMPS's spatial sort; atom IDs are the ASE indices + 1.
    ids = np.array(lmp.numpy.extract_atom("id")[: len(atoms)])
    per_atom = per_atom[np.argsort(ids)]
    lmp.close()
    assert got["energy"] == pytest.approx(ref["energy"], abs=1e-6 * len(atoms))
    np.testing.assert_allclose(per_atom, ref["node_energy"], rtol=0, atol=1e-6)
    # The model's forces are ~1 eV/Å, so 1e-6 eV/Å is a real check of every edge and shift.
    assert np.abs(ref["forces"]).max() > 0.3
    np.testing.assert_allclose(got["forces"], ref["forces"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(got["stress"], ref["stress"], rtol=0, atol=1e-7)


@pytest.mark.parametrize("make_atoms", [triclinic_cell, small_trigonal_cell])
def test_profile_counts_calls_and_periodic_edges(plugin_so, exported, make_atoms, monkeypatch,
                                                  capfd):
    """LIZRCL_PAIR_PROFILE=1: one line per pair style with its call count and the mean edge
    count, which must equal ASE's neighbour list (every periodic image within r_max)."""
    from ase.neighborlist import neighbor_list

    atoms = make_atoms()
    monkeypatch.setenv("LIZRCL_PAIR_PROFILE", "1")
    lmp = make_lammps(atoms, mace_potential(exported, mode="single"))
    lmp.commands_list(["run 0 post no", "run 0 post no", "run 0 post no"])
    lmp.close()
    line = [x for x in capfd.readouterr().err.splitlines() if "mace/lizrcl profile" in x]
    assert len(line) == 1, line
    n_edges = len(neighbor_list("i", atoms, R_MAX))
    assert f"3 calls (3 with virial), {n_edges} edges/call" in line[0]
    times = [float(t) for t in line[0].split("ms/call:")[1].replace(",", " ").split()[1::2]]
    assert len(times) == 4 and all(t >= 0 for t in times)


def test_engine_single_points_equal_the_md_path_and_skip_jit_reoptimisation(plugin_so, exported):
    """The SSW/NEB engine gives the MD set-up's energies and forces, and runs its LAMMPS commands
    with TorchScript's re-optimisation off (a bias callback sees the flag inside ``minimize``),
    restoring the process setting afterwards."""
    import torch

    from lizrcl_tools.potential.lammps_engine import LammpsEngine, to_lammps_frame

    atoms = triclinic_cell()
    spec = mace_potential(exported, mode="single")
    lmp = make_lammps(atoms, spec)
    ref = single_point(lmp, atoms)
    lmp.close()
    cell, positions, rotation = to_lammps_frame(atoms.cell[:], atoms.positions)
    engine = LammpsEngine(spec, atoms.get_chemical_symbols(), cell, positions)
    got = engine.evaluate()
    assert got.energy == pytest.approx(ref["energy"], abs=1e-6 * len(atoms))
    np.testing.assert_allclose(got.forces @ rotation.T, ref["forces"], rtol=0, atol=1e-6)

    seen = []

    def watching_bias(h, pos):
        seen.append(torch._C._get_graph_executor_optimize())
        return 0.0, np.zeros_like(pos), np.zeros(6)

    before = torch._C._get_graph_executor_optimize()
    engine.set_bias(watching_bias)
    engine.minimize(relax_cell=False, max_iter=3, rounds=1)
    engine.close()
    assert seen and not any(seen)
    assert torch._C._get_graph_executor_optimize() == before


def test_float32_close_to_float64(plugin_so, model_file):
    atoms = triclinic_cell()
    ref = ase_reference(model_file, atoms)
    lmp = make_lammps(atoms, model_file, dtype="float32", mode="single")
    got = single_point(lmp, atoms)
    lmp.close()
    assert got["energy"] == pytest.approx(ref["energy"], abs=1e-3)
    np.testing.assert_allclose(got["forces"], ref["forces"], rtol=0, atol=1e-3)


def test_wrong_element_is_named(plugin_so, exported):
    atoms = triclinic_cell()
    spec = mace_potential(exported)
    lmp = make_lammps(atoms, spec)
    with pytest.raises(Exception, match=r"'Br' \(atom type 3\) is not in MACE model file .*tiny-lammps\.pt"):
        lmp.command(f"pair_coeff * * {exported} Li Zr Br")
    lmp.close()
    with pytest.raises(SetupError, match="Br not in MACE model"):
        mace_potential(exported, elements=("Li", "Zr", "Br"))


def test_nve_conserves_energy(plugin_so, exported):
    """NVE, 0.5 fs, 120 steps from 600 K: total energy stays flat while PE/KE exchange."""
    atoms = triclinic_cell()
    lmp = make_lammps(atoms, mace_potential(exported, mode="single"))
    lmp.commands_list(
        [
            "velocity all create 600.0 4928459 mom yes rot no dist gaussian",
            "timestep 0.0005",
            "fix nve all nve",
            "thermo_style custom step pe ke etotal",
            "thermo 10",
        ]
    )
    etot, ke = [], []
    for _ in range(12):
        lmp.command("run 10 post no")
        etot.append(lmp.get_thermo("etotal"))
        ke.append(lmp.get_thermo("ke"))
    lmp.close()
    etot, ke = np.array(etot), np.array(ke)
    print(f"NVE: ptp(etot) = {np.ptp(etot):.2e} eV, ptp(ke) = {np.ptp(ke):.2e} eV")
    # KE swings by ~0.1 eV here; a wrong force (e.g. a missed image) shows up as etotal drift
    # of the same order. 0.5 fs Verlet keeps the shadow-Hamiltonian error far below 1 %.
    assert np.ptp(ke) > 0.02
    assert np.ptp(etot) < 5e-3 * np.ptp(ke)


_MPI_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import mace.modules
    from ase.io import read
    from lizrcl_tools.potential.mace_plugin import mace_potential, make_lammps, single_point
    results = []
    for atoms in read(sys.argv[1], index=":"):
        lmp = make_lammps(atoms, mace_potential(sys.argv[2], mode="auto"))
        nprocs, me = lmp.extract_setting("world_size"), lmp.extract_setting("world_rank")
        out = single_point(lmp, atoms)
        lmp.close()
        results.append({"nprocs": nprocs, "energy": out["energy"],
                        "forces": out["forces"].tolist(), "stress": out["stress"].tolist()})
    if me == 0:
        json.dump(results, open(sys.argv[3], "w"))
    """
)


@pytest.mark.slow
def test_two_mpi_ranks_match(plugin_so, model_file, exported, tmp_path):
    """Ghost-node mode on 2 ranks (both cells in one mpirun) equals the ASE calculator."""
    mpirun = Path(sys.prefix) / "bin" / "mpirun"
    if not mpirun.exists():
        pytest.skip(f"{mpirun} not found (mpich wheel missing)")
    try:
        probe = subprocess.run([str(mpirun), "-np", "2", "true"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"mpirun cannot start 2 ranks here: {exc}")
    if probe.returncode != 0:
        pytest.skip(f"mpirun cannot start 2 ranks here: {probe.stderr.decode()[-200:]}")
    cells = [triclinic_cell(), small_trigonal_cell()]
    structure = tmp_path / "cells.extxyz"
    from ase.io import write

    write(structure, cells)
    script = tmp_path / "run.py"
    script.write_text(_MPI_SCRIPT)
    result_file = tmp_path / "out.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [str(mpirun), "-np", "2", sys.executable, str(script), str(structure), str(exported),
         str(result_file)],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for atoms, got in zip(cells, json.loads(result_file.read_text()), strict=True):
        ref = ase_reference(model_file, atoms)
        assert got["nprocs"] == 2
        assert got["energy"] == pytest.approx(ref["energy"], abs=1e-6 * len(atoms))
        np.testing.assert_allclose(got["forces"], ref["forces"], rtol=0, atol=1e-6)
        np.testing.assert_allclose(got["stress"], ref["stress"], rtol=0, atol=1e-7)


def test_fallback_to_fix_external(monkeypatch, model_file):
    """Without a plugin the spec drives the Python calculator through fix external."""

    def no_plugin():
        raise SetupError("no C++20 compiler (simulated)")

    monkeypatch.setattr(plugin, "ensure_plugin", no_plugin)
    with pytest.warns(LizrclWarning, match="fix external"):
        spec = mace_potential(model_file)
    assert spec.metadata["backend"] == "fix_external"
    atoms = small_trigonal_cell()
    ref = ase_reference(model_file, atoms)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lmp = make_lammps(atoms, spec)
    got = single_point(lmp, atoms)
    lmp.close()
    assert got["energy"] == pytest.approx(ref["energy"], abs=1e-8)
    np.testing.assert_allclose(got["forces"], ref["forces"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(got["stress"], ref["stress"], rtol=0, atol=1e-9)


@pytest.mark.parametrize("mode", ["single", "ghost"])
def test_plugin_matches_ase_with_zbl_pair_repulsion(plugin_so, zbl_model_file, mode):
    """A model trained with --pair_repulsion keeps its ZBL term through export and MPI modes."""
    atoms = small_trigonal_cell()
    spec = mace_potential(zbl_model_file, mode=mode)
    assert load_exported(spec.metadata["exported"]).pair_repulsion
    # push two atoms to 1.3 Å, where ZBL dominates, so the term is really exercised
    vec = atoms.get_distance(0, 1, mic=True, vector=True)
    atoms.positions[1] = atoms.positions[0] + vec / np.linalg.norm(vec) * 1.3
    ref = ase_reference(zbl_model_file, atoms)
    got = single_point(make_lammps(atoms, spec), atoms)
    assert got["energy"] == pytest.approx(ref["energy"], abs=1e-6 * len(atoms))
    np.testing.assert_allclose(got["forces"], ref["forces"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(got["stress"], ref["stress"], rtol=0, atol=1e-7)


def test_core_repulsion_guard_leaves_crystal_alone_and_repels_merging_atoms(model_file,
                                                                            zbl_model_file):
    from lizrcl_tools.structures import build

    atoms = build("li2zrcl6-p3m1")
    plain = mace_potential(model_file, dtype="float64")
    guard = mace_potential(model_file, dtype="float64", core_repulsion_A=(1.0, 1.6))
    assert guard.metadata["core_repulsion_A"] == [1.0, 1.6]
    a, b = (single_point(make_lammps(atoms, s), atoms) for s in (plain, guard))
    assert b["energy"] == pytest.approx(a["energy"], abs=1e-9)  # nearest pair 2.5 Å > 1.6 Å
    np.testing.assert_allclose(b["forces"], a["forces"], atol=1e-9)
    cl = [i for i, x in enumerate(atoms.get_chemical_symbols()) if x == "Cl"]
    vec = atoms.get_distance(cl[0], cl[1], mic=True, vector=True)
    atoms.positions[cl[1]] = atoms.positions[cl[0]] + vec / np.linalg.norm(vec) * 1.2
    a, b = (single_point(make_lammps(atoms, s), atoms) for s in (plain, guard))
    assert b["energy"] - a["energy"] > 5.0  # ZBL between two Cl at 1.2 Å: ~13 eV
    # a model with its own ZBL term gets no second wall
    own = mace_potential(zbl_model_file, dtype="float64", core_repulsion_A=(1.0, 1.6))
    assert not any(c.startswith("pair_style hybrid") for c in own.commands)
    assert "built into the model" in own.metadata["core_repulsion_A"]


def test_lammps_keeps_torch_threads(monkeypatch):
    """LAMMPS drops OpenMP to 1 thread when OMP_NUM_THREADS is unset; the MACE pair style
    shares that runtime, so new_lammps restores torch's thread count (a user's setting wins)."""
    import torch

    from lizrcl_tools.lammps_env import default_threads, new_lammps

    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        monkeypatch.delenv("PMI_SIZE", raising=False)
        monkeypatch.delenv("OMPI_COMM_WORLD_SIZE", raising=False)
        monkeypatch.delenv("MPI_LOCALNRANKS", raising=False)
        new_lammps().close()
        assert torch.get_num_threads() == default_threads()
        monkeypatch.setenv("PMI_SIZE", "1000000")
        assert default_threads() == 1
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        torch.set_num_threads(3)
        new_lammps().close()
        assert torch.get_num_threads() == 3  # the user's variable is set: left alone
    finally:
        torch.set_num_threads(before)
