"""SSW walks on an 8-atom LiCl cell with the toy rocksalt potential: minima, resume, seeds, DB."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from ase.build import bulk

from lizrcl_tools import cli
from lizrcl_tools.ssw import MinimaDB, SSWParameters, SSWWalker
from lizrcl_tools.ssw.bias import Coordinates
from lizrcl_tools.potential.lammps_engine import EngineCalculator, LammpsEngine, to_lammps_frame
from lizrcl_tools.ssw.fingerprint import fingerprint_distance
from lizrcl_tools.ssw.toy import ROCKSALT_A, toy_licl_potential

pytestmark = pytest.mark.lammps


def _start(seed: int = 1):
    atoms = bulk("LiCl", "rocksalt", a=ROCKSALT_A, cubic=True)
    atoms.rattle(0.3, seed=seed)
    return atoms


def _walk(tmp_path, tag, n_steps, seed=5, stop_at=None, **params):
    p = SSWParameters(**params)
    walker = SSWWalker(_start(), toy_licl_potential(), tmp_path / f"{tag}.db", p, seed=seed,
                       checkpoint=tmp_path / f"{tag}.json")
    if stop_at is not None:
        walker.run(stop_at, progress=False)
        walker.close()
        walker = SSWWalker.resume(tmp_path / f"{tag}.json")
    walker.run(n_steps, progress=False)
    walker.close()
    return walker


def test_generalized_force_matches_energy_derivative():
    atoms = _start(2)
    atoms.set_cell(atoms.cell[:] @ np.array([[1.02, 0.03, 0], [0, 0.98, 0.02], [0, 0, 1.01]]), scale_atoms=True)
    h, pos, _ = to_lammps_frame(atoms.cell[:], atoms.positions)
    eng = LammpsEngine(toy_licl_potential(), atoms.get_chemical_symbols(), h, pos)
    coords = Coordinates(h.copy(), 0.6, 0.05, relax_cell=True)
    ev = eng.evaluate(h, pos)
    gf = coords.generalized_force(h, ev.forces, ev.virial)
    rng = np.random.default_rng(0)
    for part in ("atoms", "cell"):
        u = np.zeros(gf.size)
        if part == "atoms":
            u[:24] = rng.normal(size=24)
        else:
            u[24:] = rng.normal(size=6)
        eps = 1e-4
        ep = eng.evaluate(*coords.step(h, pos, eps * u)).energy
        em = eng.evaluate(*coords.step(h, pos, -eps * u)).energy
        assert abs(gf @ u) > 1e-2
        assert gf @ u == pytest.approx(-(ep - em) / (2 * eps), rel=1e-4)
    eng.close()


def test_engine_relaxes_rocksalt_and_calculator_is_rotation_invariant():
    atoms = bulk("LiCl", "rocksalt", a=5.5, cubic=True)
    h, pos, _ = to_lammps_frame(atoms.cell[:], atoms.positions)
    eng = LammpsEngine(toy_licl_potential(), atoms.get_chemical_symbols(), h, pos)
    ev = eng.minimize(relax_cell=True, force_tol=1e-6)
    cell, _ = eng.get_structure()
    assert np.diag(cell) == pytest.approx([ROCKSALT_A] * 3, abs=0.01)
    assert np.abs(ev.virial).max() < 1e-3
    eng.close()
    # The ASE calculator rotates general cells into the LAMMPS frame and back.
    a = _start(3)
    a.calc = EngineCalculator(toy_licl_potential(), a)
    e1, f1 = a.get_potential_energy(), a.get_forces()
    rot = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))[0]
    rot *= np.sign(np.linalg.det(rot))
    b = a.copy()
    b.set_cell(a.cell[:] @ rot.T)
    b.positions = a.positions @ rot.T
    b.calc = EngineCalculator(toy_licl_potential(), b)
    assert b.get_potential_energy() == pytest.approx(e1, abs=1e-9)
    np.testing.assert_allclose(b.get_forces(), f1 @ rot.T, atol=1e-8)


def test_walk_finds_minima_and_resumes_exactly(tmp_path):
    # Climbs and kicks (swaps have their own walk test in test_ssw_swap.py).
    full = _walk(tmp_path, "full", 6, swap_moves=False)
    energies = [r.energy for r in full.state.history]
    db = MinimaDB(tmp_path / "full.db")
    assert db.count() >= 3  # rocksalt plus other polymorphs
    table = db.minima()
    assert table[0].spacegroup == "Fm-3m"  # the toy's ground state is rocksalt
    assert sum(r.visits for r in table) == 7  # start quench + 6 steps, every one recorded
    # Stopped after 3 steps, resumed to 6: identical energies, steps continue, nothing lost.
    resumed = _walk(tmp_path, "res", 6, stop_at=3, swap_moves=False)
    assert [r.step for r in resumed.state.history] == list(range(7))
    assert [r.energy for r in resumed.state.history] == energies
    assert MinimaDB(tmp_path / "res.db").count() == db.count()
    ckpt = json.loads((tmp_path / "res.json").read_text())
    assert ckpt["step"] == 6 and ckpt["seed"] == 5


def test_same_seed_same_walk_other_seed_differs(tmp_path):
    a = _walk(tmp_path, "a", 3, seed=11)
    b = _walk(tmp_path, "b", 3, seed=11)
    c = _walk(tmp_path, "c", 3, seed=12)
    ea = [r.energy for r in a.state.history]
    assert ea == [r.energy for r in b.state.history]
    assert a.state.force_calls == b.state.force_calls
    assert [r.force_calls for r in a.state.history] != [r.force_calls for r in c.state.history]


def test_zero_temperature_accepts_only_downhill_and_fixed_cell_keeps_cell(tmp_path):
    w = _walk(tmp_path, "t0", 3, temperature_K=0.0, relax_cell=False, n_gaussians=6)
    current = w.state.history[0].energy
    for r in w.state.history[1:]:
        assert r.accepted == (r.energy <= current)
        current = r.energy if r.accepted else current
    start_cell = to_lammps_frame(_start().cell[:], _start().positions)[0]
    np.testing.assert_allclose(w.state.cell, start_cell, atol=1e-9)


def test_staged_start_quench_relaxes_atoms_at_fixed_cell_first_and_books_every_call(tmp_path):
    from lizrcl_tools.potential.lammps_engine import BudgetExhausted
    from lizrcl_tools.ssw.climb import start_quench

    atoms = bulk("LiCl", "rocksalt", a=1.08 * ROCKSALT_A, cubic=True).repeat((2, 1, 1))
    atoms.rattle(0.25, seed=2)
    cell, pos, _ = to_lammps_frame(atoms.cell[:], atoms.positions)
    ends = {}
    for staged in (False, True):
        engine = LammpsEngine(toy_licl_potential(), atoms.get_chemical_symbols(), cell, pos)
        seen = []
        res = start_quench(engine, SSWParameters(start_fixed_cell=staged), cell, pos,
                           check=lambda h, x: seen.append(h.copy()))
        # Every call of both stages is the quench's, in the profile and in the result.
        assert res.converged and res.steps == engine.force_calls == engine.calls_by_phase["quench"]
        engine.close()
        ends[staged] = (res.evaluation.energy / len(atoms), abs(np.linalg.det(res.cell)))
        if staged:  # the atoms' stage keeps the cell to the last bit; the cell moves after it
            k = next(i for i, h in enumerate(seen) if not np.array_equal(h, cell))
            assert k >= 1 and all(np.array_equal(h, cell) for h in seen[:k])
    # Both paths end in the same strain-free rocksalt (to what 0.05 eV/Å and 0.05 GPa tell apart,
    # 0.2 meV/atom here; the next polymorph is 26 meV/atom up).
    assert ends[True][0] == pytest.approx(ends[False][0], abs=5e-4)
    assert ends[True][1] == pytest.approx(ends[False][1], rel=3e-3)
    assert ends[True][1] == pytest.approx(2 * ROCKSALT_A**3, rel=5e-3)
    # The budget covers both stages: a walker whose staged start does not fit is not made.
    with pytest.raises(BudgetExhausted):
        SSWWalker(atoms, toy_licl_potential(), tmp_path / "b.db", SSWParameters(start_fixed_cell=True),
                  max_force_calls=20)


def test_two_walker_processes_share_one_database(tmp_path):
    start = tmp_path / "start.extxyz"
    _start().write(start)
    db = tmp_path / "shared.db"
    procs = [
        subprocess.Popen([sys.executable, "-m", "lizrcl_tools", "ssw", str(start), "--db", str(db),
                          "--checkpoint", str(tmp_path / f"w{seed}.json"), "--steps", "3", "--seed", str(seed),
                          "--potential", "toy-licl", "--ng", "6", "--no-progress", "--profile"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for seed in (1, 2)
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        # --profile: the phases' calls add up to the walk's total.
        total = int(out.split("force calls by phase (")[1].split(" calls")[0])
        rows = [line.split() for line in out.splitlines() if line.startswith("  ") and "%" in line]
        assert sum(int(r[-3] if r[0] != "start" else r[2]) for r in rows) == total
    rows = MinimaDB(db).minima()
    assert sum(r.visits for r in rows) == 2 * 4  # every step of both walkers counted once
    assert {int(s) for r in rows for s, _ in r.data["visit_keys"]} == {1, 2}
    for i, r in enumerate(rows):  # no duplicate survived the concurrent writes
        for q in rows[i + 1:]:
            if abs(r.e_per_atom - q.e_per_atom) < 0.002:
                assert fingerprint_distance(r.data["fingerprint"], q.data["fingerprint"]) >= 0.01


def test_cli_minima_and_pes_map(tmp_path, capsys):
    _walk(tmp_path, "cli", 3)
    db = str(tmp_path / "cli.db")
    assert cli.run(["minima", db, "--export", "2", "--format", "cif", "--outdir", str(tmp_path / "out"),
                    "--for-labelling", str(tmp_path / "lab.extxyz")]) == 0
    out = capsys.readouterr().out
    assert "Fm-3m" in out
    import ase.io

    frames = ase.io.read(tmp_path / "lab.extxyz", ":")
    kinds = {f.info["config_type"] for f in frames}
    assert kinds == {"ssw_minimum", "ssw_walk"}
    n_minima = MinimaDB(db).count()
    assert len(list((tmp_path / "out").glob("*.cif"))) == min(2, n_minima)
    assert sum(f.info["config_type"] == "ssw_minimum" for f in frames) == n_minima  # all within 0.5 eV/atom
    assert cli.run(["pes-map", db, "-o", str(tmp_path / "map.png")]) == 0
    assert (tmp_path / "map.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_checkpoint_and_parameters_are_reported(tmp_path):
    from lizrcl_tools.errors import ParseError, SetupError

    bad = tmp_path / "walk.json"
    bad.write_text("{not json")
    with pytest.raises(ParseError, match=r"walk\.json:1: not valid JSON"):
        SSWWalker.resume(bad)
    with pytest.raises(SetupError, match="unknown SSW parameters: n_gausians"):
        SSWParameters.from_dict({"n_gausians": 3})


def test_failed_step_is_rejected_and_walk_goes_on(tmp_path):
    from lizrcl_tools.errors import LizrclWarning, RunFailed

    walker = SSWWalker(_start(), toy_licl_potential(), tmp_path / "f.db", SSWParameters(n_gaussians=4), seed=1,
                       checkpoint=tmp_path / "f.json")
    original = walker.engine.evaluate
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 20:  # inside the climb of step 1
            raise RunFailed("synthetic LAMMPS failure")
        return original(*args, **kwargs)

    walker.engine.evaluate = flaky
    e0, minima0 = walker.state.energy, walker.db.count()
    with pytest.warns(LizrclWarning, match="step 1 .* failed"):
        rec = walker.step()
    assert rec.failed and not rec.accepted and walker.state.energy == e0
    assert walker.db.count() == minima0
    rec2 = walker.step()
    assert not rec2.failed and rec2.step == 2
    walker.close()


def test_a_quench_into_a_hole_of_the_potential_is_rejected_and_kept_apart_for_labelling(tmp_path, monkeypatch,
                                                                                       capsys):
    # The shipped MACE model has holes: 54-atom Li2ZrCl6 walks quenched into Li–Cl at 0.002 Å
    # (−2e9 eV/atom) and Zr–Cl at 1.11 Å. Such a "minimum" must not enter the database or win the
    # Metropolis test. Here the quench of step 1 is made to end with a Li 0.3 Å from a Cl.
    from lizrcl_tools.errors import LizrclWarning, RunFailed
    from lizrcl_tools.ssw import walker as walker_module
    from lizrcl_tools.learn.frames import physical
    from lizrcl_tools.ssw.export import labelling_frames
    from lizrcl_tools.ssw.merge import merge_minima
    from lizrcl_tools.structures.checks import contact_ratio

    real_quench = walker_module.quench
    collapse = {"on": False}

    def quench_into_hole(engine, params, cell, pos, check=None):
        assert check is not None  # the walker also watches the quench as it runs
        res = real_quench(engine, params, cell, pos, check=check)
        if collapse["on"]:
            res.positions = res.positions.copy()
            li, cl = 0, 1  # bulk("LiCl") order: Li, Cl, ...
            res.positions[li] = res.positions[cl] + np.array([0.3, 0.0, 0.0])
            res.evaluation.energy = -1e9  # what the hole's energy looks like: always "accepted"
        return res

    monkeypatch.setattr(walker_module, "quench", quench_into_hole)
    walker = SSWWalker(_start(), toy_licl_potential(), tmp_path / "h.db", SSWParameters(n_gaussians=3), seed=1)
    e0, minima0 = walker.state.energy, walker.db.count()
    collapse["on"] = True
    with pytest.warns(LizrclWarning, match=r"unphysical minimum.*\(Li\) and .*\(Cl\) are 0\.300 Å apart"):
        rec = walker.step()
    assert rec.failed and not rec.accepted and walker.state.energy == e0
    assert walker.db.count() == minima0 and walker.lowest_energy() == e0
    # Not a minimum, but its rim is kept apart for the SSW-NN loop: the last structure on the
    # quench's way in that passed the check (here the real quench's last checked point), with
    # its own closest contact (at or above the floor) and the caught one's, Li–Cl 0.3 Å /
    # (0.5 × (1.28 + 1.02) Å).
    (hole,) = walker.db.holes()
    assert (hole.seed, hole.step) == (1, 1) and hole.contact_ratio >= 1.0
    assert hole.caught_ratio == pytest.approx(0.3 / 1.15, abs=1e-3)
    assert contact_ratio(hole.toatoms()) == pytest.approx(hole.contact_ratio)
    collapse["on"] = False
    assert not walker.step().failed
    walker.close()
    # Offered for labelling with the minima, as a structure the input checks (and so the learn
    # loop's physical filter) accept; a stricter limit than its ratio leaves it out.
    frames = labelling_frames(MinimaDB(tmp_path / "h.db"))
    (kept,) = [f for f in frames if f.info["config_type"] == "ssw_hole"]
    assert kept.info["caught_ratio"] == pytest.approx(hole.caught_ratio) and kept.calc is None
    assert physical(kept)
    assert [f.info["config_type"] for f in frames].count("ssw_minimum") == MinimaDB(tmp_path / "h.db").count()
    strict = labelling_frames(MinimaDB(tmp_path / "h.db"), hole_min_ratio=hole.contact_ratio + 0.01)
    assert "ssw_hole" not in [f.info["config_type"] for f in strict]
    # The same from the command line, which also counts the holes.
    import ase.io

    for extra, expected in (([], 1), (["--hole-min-ratio", f"{hole.contact_ratio + 0.01}"], 0)):
        out = tmp_path / f"lab{len(extra)}.extxyz"
        assert cli.run(["minima", str(tmp_path / "h.db"), "--for-labelling", str(out), *extra]) == 0
        assert "1 hole of the potential kept" in capsys.readouterr().out
        assert [f.info["config_type"] for f in ase.io.read(out, ":")].count("ssw_hole") == expected
    # Merged once per (seed, step), like walk points: a second merge copies nothing.
    assert merge_minima(MinimaDB(tmp_path / "m.db"), [MinimaDB(tmp_path / "h.db")]).holes == 1
    assert merge_minima(MinimaDB(tmp_path / "m.db"), [MinimaDB(tmp_path / "h.db")]).holes == 0
    assert len(MinimaDB(tmp_path / "m.db").holes()) == 1
    # store_holes=False: rejected all the same, nothing kept.
    quiet = SSWWalker(_start(), toy_licl_potential(), tmp_path / "q.db",
                      SSWParameters(n_gaussians=3, store_holes=False), seed=1)
    collapse["on"] = True
    with pytest.warns(LizrclWarning):
        assert quiet.step().failed
    assert quiet.db.holes() == []
    quiet.close()
    # Off, the same hole is taken at face value (the old behaviour, for studying holes).
    off = SSWWalker(_start(), toy_licl_potential(), tmp_path / "o.db",
                    SSWParameters(n_gaussians=3, reject_close_contacts=False), seed=1)
    collapse["on"] = True
    rec = off.step()
    assert not rec.failed and rec.accepted and off.lowest_energy() == -1e9 and off.db.holes() == []
    off.close()
    # The check the quench runs every 10 calls (so a structure sliding into a hole stops there,
    # not after quench_max_iter): a Li 0.2 Å from a Cl fails it, naming the pair.
    monkeypatch.setattr(walker_module, "quench", real_quench)
    w2 = SSWWalker(_start(), toy_licl_potential(), tmp_path / "h2.db", SSWParameters(n_gaussians=3), seed=1)
    with pytest.raises(RunFailed, match=r"unphysical.*\(Li\) and .*\(Cl\)"):
        w2._check_contacts(w2.state.cell, np.vstack([w2.state.positions[1] + 0.2, w2.state.positions[1:]]),
                           "a test")
    w2.close()
