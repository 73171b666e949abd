"""LAMMPS MD runner: complete run folders, dump/run.json consistency, NVE, resume, couple xy."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.spacegroup import crystal

from lizrcl_tools.errors import SetupError
from lizrcl_tools.lammps_env import new_lammps
from lizrcl_tools.md import get_protocol, run_md, run_temperatures
from lizrcl_tools.md import inputs as inp
from lizrcl_tools.md.dump import dump_steps, read_dump_frames, truncate_before
from lizrcl_tools.md.protocols import MDProtocol
from lizrcl_tools.md.runner import read_run_json
from lizrcl_tools.potential.classical import classical_potential

pytestmark = pytest.mark.lammps

SPEC = classical_potential()
# 200 NPT + 300 NVT steps of 64-atom LiCl: about a second on one core.
SHORT = MDProtocol(
    name="test", temperatures_K=(600.0,), n_atoms=None, npt_ps=0.2, nvt_ps=0.3,
    dump_every=10, chunk_steps=100, thermo_every=50, barostat="iso", seed=4242,
)


def licl(n: int = 2):
    return bulk("LiCl", "rocksalt", a=5.07, cubic=True).repeat(n)


def licl_hexagonal():
    """Rocksalt LiCl in the hexagonal setting of R-3m (ABC stacking along [111]): a trigonal
    cell with gamma = 120°, 3x3x1 = 54 atoms."""
    a = 5.07
    cell = crystal(["Li", "Cl"], [(0, 0, 0), (0, 0, 0.5)], spacegroup=166,
                   cellpar=[a / np.sqrt(2), a / np.sqrt(2), a * np.sqrt(3), 90, 90, 120])
    return cell.repeat((3, 3, 1))


class Interrupt(Exception):
    """Raised from the chunk hook to stop a run the way a killed job would."""


def stop_at(phase: str, step: int):
    def hook(p: str, s: int) -> None:
        if (p, s) == (phase, step):
            raise Interrupt(f"{p} {s}")

    return hook


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("md") / "T600"
    run_md(licl(), SPEC, 600.0, run_dir, SHORT, progress=False)
    return run_dir


def test_run_folder_is_complete(finished):
    for name in ("structure.data", "in.npt.lammps", "in.nvt.lammps", "npt.restart", "nvt.restart",
                 "nvt.lammpstrj", "log.npt.lammps", "log.nvt.lammps", "thermo.png", "run.json"):
        assert (finished / name).is_file(), name
    rec = read_run_json(finished).to_dict()
    assert rec["status"] == "complete"
    assert rec["temperature_K"] == 600.0 and rec["timestep_fs"] == 1.0 and rec["dump_every"] == 10
    assert rec["elements"] == ["Li", "Zr", "Cl"] and rec["mobile"] == "Li"
    assert rec["n_atoms"] == 64 and rec["n_mobile"] == 32 and rec["seed"] == 4242
    assert rec["potential"] == json.loads(json.dumps(SPEC.to_dict()))
    assert rec["protocol"]["npt_steps"] == 200 and rec["protocol"]["nvt_steps"] == 300
    cell = np.array(rec["cell_A"])
    assert rec["volume_A3"] == pytest.approx(abs(np.linalg.det(cell)))
    # iso NPT at 600 K from the 0 K lattice constant: the cubic cell expands, a little.
    assert 1.0 < rec["volume_A3"] / licl().get_volume() < 1.15
    assert np.allclose(cell, np.diag(np.diag(cell)))
    # Thermostat at work: 0.5 ps after starting a perfect lattice at 600 K (equipartition halves
    # it at once), the NVT mean is within 30 % of the target. The NVT volume in the log is the
    # recorded one and constant.
    assert rec["nvt"]["T_mean_K"] == pytest.approx(600.0, rel=0.3)
    assert rec["nvt"]["volume_mean_A3"] == pytest.approx(rec["volume_A3"], rel=1e-6)
    assert rec["nvt"]["volume_std_A3"] < 1e-6
    # The analysis stage's validating reader accepts the folder, where it exists.
    from lizrcl_tools.analysis import runinfo

    info = runinfo.read_run_info(finished)
    assert info.mobile_types == (1,)


def test_run_json_matches_dump(finished):
    rec = read_run_json(finished).to_dict()
    frames = read_dump_frames(finished / rec["dump_file"])
    assert list(frames["steps"]) == list(range(0, rec["nvt_steps"] + 1, rec["dump_every"]))
    assert len(frames["steps"]) == rec["n_frames"] == 31
    assert frames["ids"].shape == (31, rec["n_atoms"])
    assert (frames["ids"] == np.arange(1, rec["n_atoms"] + 1)).all()  # sorted by id
    symbols = np.array(rec["elements"])[frames["types"][0] - 1]
    assert (symbols == np.array(licl().get_chemical_symbols())).all()
    assert (frames["types"] == frames["types"][0]).all()
    # Unwrapped coordinates: no jumps of a box length between frames (1 fs x 10 steps).
    assert np.abs(np.diff(frames["positions_A"], axis=0)).max() < 1.0


def test_inputs_are_reusable_by_hand(finished, tmp_path, monkeypatch):
    """in.npt.lammps / in.nvt.lammps run by plain LAMMPS in a copy of the folder and give the
    same trajectory length (restarts and dump with relative names)."""
    for name in ("structure.data", "in.npt.lammps", "in.nvt.lammps"):
        shutil.copy(finished / name, tmp_path / name)
    text = (tmp_path / "in.nvt.lammps").read_text()
    assert str(finished) not in text and "read_restart npt.restart" in text
    monkeypatch.chdir(tmp_path)
    for name in ("in.npt.lammps", "in.nvt.lammps"):
        lmp = new_lammps()
        lmp.file(name)
        lmp.close()
    assert dump_steps(tmp_path / "nvt.lammpstrj") == dump_steps(finished / "nvt.lammpstrj")
    hand = read_dump_frames(tmp_path / "nvt.lammpstrj")["positions_A"]
    ours = read_dump_frames(finished / "nvt.lammpstrj")["positions_A"]
    # Same seed and commands; the runner's chunking only changes round-off (chaotic growth is
    # small over 500 steps).
    assert np.abs(hand[0] - ours[0]).max() < 1e-2


def test_finished_run_is_not_redone(finished):
    before = {p.name: p.stat().st_mtime_ns for p in finished.iterdir()}
    rec = run_md(licl(), SPEC, 600.0, finished, SHORT, progress=False).to_dict()
    assert rec["status"] == "complete"
    assert {p.name: p.stat().st_mtime_ns for p in finished.iterdir()} == before
    # Asking for other settings in a finished folder is an error, not a silent reuse.
    with pytest.raises(SetupError, match="finished run with different protocol"):
        run_md(licl(), SPEC, 600.0, finished, SHORT.with_overrides(nvt_ps=0.4), progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in finished.iterdir()} == before


def test_unfinished_folder_with_other_settings_is_refused(tmp_path):
    with pytest.raises(Interrupt):
        run_md(licl(), SPEC, 600.0, tmp_path, SHORT, progress=False, on_chunk=stop_at("npt", 100))
    with pytest.raises(SetupError, match="temperature_K"):
        run_md(licl(), SPEC, 700.0, tmp_path, SHORT, progress=False)


@pytest.mark.parametrize("phase,step", [("nvt", 200), ("nvt", 100), ("nvt", 300), ("npt", 100), ("npt", 200)])
def test_resume_after_interrupt(finished, tmp_path, phase, step):
    """Stop after a chunk, leave a half-written frame as a killed job would, resume: the dump
    has each expected step once and matches the uninterrupted run."""
    with pytest.raises(Interrupt):
        run_md(licl(), SPEC, 600.0, tmp_path, SHORT, progress=False, on_chunk=stop_at(phase, step))
    assert read_run_json(tmp_path).to_dict()["status"] == "running"
    if phase == "nvt":
        assert dump_steps(tmp_path / "nvt.lammpstrj")[-1] == step
        with open(tmp_path / "nvt.lammpstrj", "a") as fd:  # frames past the restart, one cut short
            fd.write(f"ITEM: TIMESTEP\n{step + 10}\nITEM: NUMBER OF ATOMS\n64\nITEM: BOX BOUNDS pp pp pp\n0 1\n")
    rec = run_md(licl(), SPEC, 600.0, tmp_path, SHORT, progress=False).to_dict()
    assert rec["status"] == "complete"
    resumed = read_dump_frames(tmp_path / "nvt.lammpstrj")
    assert list(resumed["steps"]) == list(range(0, 301, 10))
    reference = read_dump_frames(finished / "nvt.lammpstrj")
    # LAMMPS restarts carry positions, velocities, image flags and the Nose-Hoover chain
    # state in binary, so the continuation agrees to the dump's 10 significant digits.
    assert np.abs(resumed["positions_A"] - reference["positions_A"]).max() < 1e-6
    assert read_run_json(tmp_path).volume_A3 == pytest.approx(read_run_json(finished).volume_A3, rel=1e-12)


def test_truncate_before(tmp_path):
    path = tmp_path / "d.lammpstrj"
    frame = "ITEM: TIMESTEP\n{}\nITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 1\n0 1\n0 1\nITEM: ATOMS id type xu yu zu\n1 1 0 0 0\n"
    path.write_text("".join(frame.format(s) for s in (0, 10, 20, 30)) + "ITEM: TIMESTEP\n4")
    assert dump_steps(path) == [0, 10, 20, 30]
    assert truncate_before(path, 20) == [0, 10]
    assert path.read_text() == frame.format(0) + frame.format(10)
    # A header cut inside the timestep ("4" of "40") is dropped, not read as step 4.
    path.write_text(frame.format(0) + frame.format(10) + "ITEM: TIMESTEP\n4")
    assert truncate_before(path, 20) == [0, 10]
    assert dump_steps(path) == [0, 10]


def test_nve_energy_conservation():
    """Velocity Verlet with the classical potential: total-energy fluctuation is small and
    shrinks as dt² (4x for half the step)."""
    spread = {}
    for dt_fs in (1.0, 0.5):
        with tempfile.TemporaryDirectory() as tmp:
            data = inp.write_data_file(Path(tmp) / "s.data", licl(), SPEC)
            lmp = new_lammps()
            try:
                lmp.commands_list([
                    *inp.header_commands(SPEC), f"read_data {data}", *inp.potential_commands(SPEC),
                    "velocity all create 1200 7 dist gaussian mom yes rot no loop geom",
                    f"timestep {inp.fs_to_ps(dt_fs)}", "fix md all nve",
                    "variable e equal etotal",
                    f"fix log all print 10 '${{e}}' file {tmp}/e.txt screen no",
                ])
                lmp.command(f"run {int(round(1000 / dt_fs))}")
                temperature = lmp.get_thermo("temp")
            finally:
                lmp.close()
            e = np.loadtxt(f"{tmp}/e.txt", comments="#")
        assert 400 < temperature < 900  # really hot: atoms move
        spread[dt_fs] = np.ptp(e) / 64
    assert spread[1.0] < 3e-4  # eV/atom over 1 ps at ~650 K
    assert 2.5 < spread[1.0] / spread[0.5] < 6.5


def test_couple_xy_keeps_the_hexagonal_angle(tmp_path):
    """NPT with x, y, z barostatted and x/y coupled changes a and c but keeps gamma = 120°."""
    atoms = licl_hexagonal()
    protocol = SHORT.with_overrides(barostat="couple-xy", npt_ps=0.3, nvt_ps=0.02, dump_every=10,
                                    pdamp_fs=200.0)
    rec = run_md(atoms, SPEC, 900.0, tmp_path, protocol, progress=False).to_dict()
    text = (tmp_path / "in.npt.lammps").read_text()
    assert "couple xy" in text and " tri " not in text
    from ase.cell import Cell

    cell = Cell(np.array(rec["cell_A"]))
    a, b, c, alpha, beta, gamma = cell.cellpar()
    a0, _, c0, *_ = atoms.cell.cellpar()
    assert gamma == pytest.approx(120.0, abs=1e-6)
    assert alpha == pytest.approx(90.0, abs=1e-6) and beta == pytest.approx(90.0, abs=1e-6)
    assert a == pytest.approx(b, rel=1e-9)
    assert abs(a / a0 - 1) > 1e-3 and abs(c / c0 - 1) > 1e-3  # the barostat did act
    # Stable at 900 K: still intact LiCl, no atom closer than 1.8 Å to another.
    frames = read_dump_frames(tmp_path / "nvt.lammpstrj")
    from ase import Atoms

    last = Atoms(numbers=[3 if t == 1 else 17 for t in frames["types"][-1]],
                 positions=frames["positions_A"][-1], cell=cell, pbc=True)
    assert last.get_all_distances(mic=True)[np.triu_indices(len(last), 1)].min() > 1.8


def test_run_temperatures_folders(tmp_path):
    protocol = SHORT.with_overrides(npt_ps=0.02, nvt_ps=0.02)
    dirs = run_temperatures(licl(), SPEC, (500, 700), tmp_path, protocol, progress=False)
    assert [d.name for d in dirs] == ["T500", "T700"]
    assert [read_run_json(d).to_dict()["temperature_K"] for d in dirs] == [500.0, 700.0]


def test_protocols():
    paper, quick = get_protocol("paper"), get_protocol("quick")
    assert (paper.npt_ps, paper.nvt_ps, paper.n_atoms, paper.timestep_fs) == (10.0, 100.0, 432, 1.0)
    assert min(paper.temperatures_K) == 300.0 and max(paper.temperatures_K) == 450.0
    assert paper.nvt_steps == 100_000 and paper.n_frames == 1001
    assert quick.n_atoms < paper.n_atoms and quick.nvt_ps < paper.nvt_ps
    assert min(quick.temperatures_K) > max(paper.temperatures_K)
    for p in (paper, quick):
        assert (p.tdamp_fs, p.pdamp_fs, p.barostat) == (100.0, 1000.0, "couple-xy")
    assert quick.with_overrides(nvt_ps=2.0, seed=None).nvt_steps == 2000
    # The quick job fits 15 min on 2 cores at the slowest measured MACE step (55 ms) plus the
    # ~30 % of D3 dispersion: worst-case steps over its three temperatures.
    assert quick.adaptive and quick.target_rel_err == 0.2
    worst_steps = len(quick.temperatures_K) * (quick.npt_steps + quick.max_nvt_steps)
    assert worst_steps * 0.055 * 1.3 <= 15 * 60
    # An NVT length asked for without a budget is a fixed length; with one, adaptive.
    assert not quick.with_overrides(nvt_ps=4.0).adaptive
    assert quick.with_overrides(nvt_ps=2.5).max_nvt_steps == 2500
    assert quick.with_overrides(nvt_ps=1.0, max_nvt_ps=2.0).adaptive
    with pytest.raises(SetupError, match="multiple of dump_every"):
        quick.with_overrides(chunk_steps=15)


def test_standard_protocol_runs_the_fast_tier_unless_a_potential_is_chosen():
    import argparse

    from lizrcl_tools.commands.md import potential_name

    standard, quick = get_protocol("standard"), get_protocol("quick")
    # between the quick job's hot, short runs and the study's: cooler and longer than quick
    assert max(standard.temperatures_K) <= min(quick.temperatures_K)
    assert min(standard.temperatures_K) == max(get_protocol("paper").temperatures_K)
    assert standard.adaptive and standard.max_nvt_ps >= 5 * standard.nvt_ps
    assert standard.chunk_steps % standard.dump_every == 0
    ns = argparse.Namespace
    assert potential_name(ns(potential=None, model=None), standard) == "fast"
    assert potential_name(ns(potential="mace", model=None), standard) == "mace"
    assert potential_name(ns(potential=None, model="my.model"), standard) is None  # --model means MACE
    assert potential_name(ns(potential=None, model=None), quick) is None  # the command's default
    with pytest.raises(SetupError, match="barostat"):
        quick.with_overrides(barostat="xyz")
    with pytest.raises(SetupError, match="quick, standard, paper"):
        get_protocol("slow")


def test_cli_md_smoke(tmp_path):
    from ase.io import write

    from lizrcl_tools.cli import run

    structure = tmp_path / "licl.extxyz"
    write(structure, licl())
    out = tmp_path / "T650"
    rc = run(["md", str(structure), "--temperature", "650", "-o", str(out), "--potential", "classical",
              "--npt-ps", "0.05", "--nvt-ps", "0.05", "--chunk-steps", "50", "--barostat", "iso",
              "--n-atoms", "0", "--seed", "11", "--no-progress"])
    assert rc == 0
    rec = read_run_json(out).to_dict()
    assert rec["status"] == "complete" and rec["seed"] == 11 and rec["n_frames"] == 6


def test_cli_conductivity_end_to_end(tmp_path, capsys):
    """`lizrcl conductivity` with the classical potential: runs, analysis, table, banner. Hot,
    defective LiCl (one Schottky pair removed). Whether a 4 ps run counts as diffusive is the
    analysis' call; the test checks that the call follows the stated criteria, that Ea is
    fitted exactly when two temperatures pass, and that --fit-all fits them anyway."""
    import json

    from ase.io import write

    from lizrcl_tools.cli import run

    atoms = licl()
    del atoms[[0, 1]]
    structure = tmp_path / "licl_schottky.extxyz"
    write(structure, atoms)
    out = tmp_path / "cond"
    rc = run(["conductivity", "--structure", str(structure), "-o", str(out), "--potential", "classical",
              "--temperatures", "2000", "2600", "--npt-ps", "0.1", "--nvt-ps", "4", "--dump-every", "5",
              "--chunk-steps", "500", "--barostat", "iso", "--n-atoms", "0", "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "2000.0" in text and "2600.0" in text
    # The quick job says what its number is: an estimate from hot short runs.
    banner = next(line for line in text.splitlines() if line.startswith("ESTIMATE from hot, short runs"))
    assert "at 2000/2600 K" in banner
    result = json.loads((out / "analysis" / "conductivity.json").read_text())
    hop2 = 3.5**2
    for row in result["temperatures"]:
        expected = row["msd_fit_start_A2"] > hop2 and abs(row["loglog_slope"] - 1) <= 0.25
        assert row["diffusive"] is expected
        assert bool(row["diffusive_reason"]) is not expected
        # hops behind D: N x 6 D t / l^2 with D in A^2/ps (1e-4 cm^2/s)
        hops = row["n_mobile"] * 6 * row["D_cm2_s"] / 1e-4 * row["duration_ps"] / hop2
        assert row["n_hops"] == pytest.approx(hops, rel=1e-9)
    n_diffusive = sum(row["diffusive"] for row in result["temperatures"])
    assert ("Ea =" in text) is (n_diffusive >= 2)
    assert ("sigma(300 K) =" in banner and "±" in banner) is (n_diffusive >= 2)
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["T2000", "T2600"]
    # --fit-all puts flagged runs back into the Arrhenius fit (still flagged).
    runs = [str(out / "runs" / "T2000"), str(out / "runs" / "T2600")]
    assert run(["analyze", *runs, "-o", str(tmp_path / "all"), "--fit-all", "--no-plots"]) == 0
    assert "Ea =" in capsys.readouterr().out
    refit = json.loads((tmp_path / "all" / "conductivity.json").read_text())
    assert np.isfinite(refit["Ea_eV"])


@pytest.mark.parametrize("barostat", ["couple-xy", "tri"])
def test_layered_li2zrcl6_npt_angle(tmp_path, barostat):
    """The 27-atom trigonal Li2ZrCl6 cell is triclinic in LAMMPS (xy = −a/2). With couple xy
    gamma stays 120° while a and c relax; with tri the cell shape is free and gamma drifts."""
    from ase.cell import Cell

    from lizrcl_tools.structures import build

    atoms = build("li2zrcl6-p3m1")
    protocol = SHORT.with_overrides(barostat=barostat, npt_ps=0.4, nvt_ps=0.02, pdamp_fs=200.0)
    rec = run_md(atoms, SPEC, 600.0, tmp_path, protocol, progress=False).to_dict()
    tilts = next(line for line in (tmp_path / "structure.data").read_text().splitlines() if line.endswith("xy xz yz"))
    xy, xz, yz = (float(v) for v in tilts.split()[:3])
    assert (xy, xz, yz) == pytest.approx((-atoms.cell.cellpar()[0] / 2, 0.0, 0.0), abs=1e-9)
    a, b, c, alpha, beta, gamma = Cell(np.array(rec["cell_A"])).cellpar()
    a0, _, c0, *_ = atoms.cell.cellpar()
    # The barostat acted on both a and c (they oscillate, so only "changed" is asserted).
    assert abs(a / a0 - 1) > 1e-5 and abs(c / c0 - 1) > 1e-5
    # The volume is judged on the NPT trace, not on one frame: started 46 kbar from
    # equilibrium, this 27-atom cell's volume swings by 10-25 % with a ~0.25 ps period
    # (pdamp 200 fs), so a single frame can sit on a crossing of V0 (the tri run's frame at
    # 0.4 ps was 0.02 % from V0) and any round-off shifts that phase.
    from lizrcl_tools.md.thermo import read_thermo

    volume = read_thermo(tmp_path / "log.npt.lammps")["Volume"]
    assert np.abs(volume / atoms.get_volume() - 1).max() > 0.05
    if barostat == "couple-xy":
        assert gamma == pytest.approx(120.0, abs=1e-6) and a == pytest.approx(b, rel=1e-9)
        assert (alpha, beta) == pytest.approx((90.0, 90.0), abs=1e-6)
    else:
        assert abs(gamma - 120.0) > 1e-3 or abs(a / b - 1) > 1e-4


@pytest.mark.slow
def test_mace_plugin_run_and_resume(tmp_path):
    """The same runner drives the shipped MACE model in the plugin pair style, resume included
    (the plugin must be loaded before read_restart)."""
    from lizrcl_tools.md.setup import resolve_potential
    from lizrcl_tools.potential import evaluate as evaluation
    from lizrcl_tools.potential import plugin_build
    from lizrcl_tools.structures import build

    model = evaluation.default_model_path()
    if model is None:
        pytest.skip("no MACE model shipped in lizrcl_tools/data/ yet")
    try:
        plugin_build.ensure_plugin()
    except SetupError as exc:  # the fix-external fallback is tested in test_plugin.py
        pytest.skip(f"MACE LAMMPS plugin cannot be built here: {exc}")

    spec = resolve_potential("mace", str(model))
    protocol = SHORT.with_overrides(npt_ps=0.02, nvt_ps=0.04, chunk_steps=20, barostat="couple-xy")
    atoms = build("li2zrcl6-p3m1")
    with pytest.raises(Interrupt):
        run_md(atoms, spec, 600.0, tmp_path, protocol, progress=False, on_chunk=stop_at("nvt", 20))
    rec = run_md(atoms, spec, 600.0, tmp_path, protocol, progress=False).to_dict()
    assert rec["status"] == "complete" and rec["potential"]["name"].startswith("mace")
    assert dump_steps(tmp_path / "nvt.lammpstrj") == [0, 10, 20, 30, 40]
    assert spec.metadata["backend"] == "plugin" and "plugin load" in (tmp_path / "in.nvt.lammps").read_text()


def test_resolve_potential_choices():
    from lizrcl_tools.md.setup import DEFAULT_POTENTIAL, resolve_potential

    assert resolve_potential("classical") == SPEC
    assert resolve_potential().name == resolve_potential(DEFAULT_POTENTIAL).name
    with pytest.raises(SetupError, match="unknown potential 'lj'.*classical"):
        resolve_potential("lj")
    with pytest.raises(SetupError, match="takes no model file"):
        resolve_potential("classical", "some.model")
    with pytest.raises(SetupError, match="does not exist"):
        resolve_potential(None, "/nonexistent/x.model")  # --model alone means MACE


def test_sanity_flags_a_run_whose_thermostat_lost_control():
    from lizrcl_tools.md.runner import sanity_problems

    assert sanity_problems({"temperature_K": 600.0, "nvt": {"T_mean_K": 640.0}}) == []
    (problem,) = sanity_problems({"temperature_K": 600.0, "nvt": {"T_mean_K": 3500.0}})
    assert "3500 K" in problem and "not meaningful" in problem
