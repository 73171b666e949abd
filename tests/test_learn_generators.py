"""Generators of the self-learning loop (random cells over x, contacts, hot rattles, teacher MD,
SSW walks and minima) and the shipped model's five rounds as a recipe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.lj import LennardJones

from lizrcl_tools import keys
from lizrcl_tools.errors import PresetError, SetupError
from lizrcl_tools.learn.generators import contacts, generate, hot_rattles, random_cells, ssw_walks
from lizrcl_tools.learn.recipe import load_recipe, recipe_from_dict
from lizrcl_tools.structures import build

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RECIPE = REPO / "lizrcl_tools" / "data" / "recipes" / "default_model.yaml"


def counts(atoms) -> dict[str, int]:
    symbols = atoms.get_chemical_symbols()
    return {e: symbols.count(e) for e in ("Li", "Zr", "Cl")}


def test_random_cells_are_neutral_cover_the_x_range_and_follow_their_seed():
    frames = random_cells(40, [0.0, 1.0], seed=7)
    xs = []
    for atoms in frames:
        n = counts(atoms)
        assert n["Cl"] == n["Li"] + 4 * n["Zr"]  # charge neutral: Li+ Zr4+ Cl-
        assert atoms.info["x"] == pytest.approx(n["Zr"] / (n["Li"] + n["Zr"]))
        # the Zr count is the target's, rounded on this Cl lattice
        xt = atoms.info["x_target"]
        assert n["Zr"] == round(xt * n["Cl"] / (1 + 3 * xt)) and 0 <= xt <= 1
        assert atoms.info["seed"] == 7 and atoms.info[keys.CONFIG_TYPE] == "mixed"
        xs.append(atoms.info["x"])
    assert min(xs) < 0.1 and max(xs) == 1.0  # both ends of the series are reached
    again = random_cells(40, [0.0, 1.0], seed=7)
    assert all(np.array_equal(a.positions, b.positions) for a, b in zip(frames, again))
    assert not np.array_equal(random_cells(1, [0.0, 1.0], seed=8)[0].positions, frames[0].positions)
    zr_rich = random_cells(20, [0.3, 0.95], seed=1, x_one_fraction=1.0)
    assert all(counts(a)["Li"] == 0 for a in zr_rich)  # x = 1: pure ZrCl4 decorations


def test_contacts_put_each_pair_at_its_recorded_distance():
    cells = [build("li2zrcl6-p3m1"), build("li2zrcl6-c2m")]
    pairs = {"Li-Cl": [1.6, 2.4], "Zr-Cl": [1.8, 2.3], "Li-Li": [1.9, 3.0], "Cl-Cl": [1.8, 3.2]}
    frames = contacts(cells, pairs, per_pair=5, seed=3)
    assert [f.info["pair"] for f in frames] == [p for p in pairs for _ in range(5)]
    for atoms in frames:
        i, j = atoms.info["atoms_ij"]
        lo, hi = pairs[atoms.info["pair"]]
        d = atoms.get_distance(i, j, mic=True)
        assert d == pytest.approx(atoms.info["distance_A"], abs=1e-9)
        assert lo <= d <= hi
        assert [atoms[i].symbol, atoms[j].symbol] == atoms.info["pair"].split("-")
    # the distances are spread over the range, one per fifth
    li_cl = sorted(f.info["distance_A"] for f in frames if f.info["pair"] == "Li-Cl")
    assert all(1.6 + 0.16 * k <= d <= 1.6 + 0.16 * (k + 1) for k, d in enumerate(li_cl))
    one_sided = contacts(cells[:1], {"Li-Cl": [2.0, 2.0]}, per_pair=1, seed=3, sigma_A=0.0, move_both=False)[0]
    i, j = one_sided.info["atoms_ij"]
    assert np.array_equal(one_sided.positions[j], cells[0].positions[j])  # only the Li moved
    with pytest.raises(SetupError, match="Zr-Zr"):
        contacts([build("licl")], {"Zr-Zr": [3.0, 3.5]}, per_pair=1, seed=1)


def test_hot_rattles_displace_by_their_sigma():
    base = build("li2zrcl6-p3m1", n_atoms=432)
    frames = hot_rattles([base], 3, [0.1, 0.3], seed=2, max_strain=0.03)
    for atoms, sigma in zip(frames, (0.1, 0.2, 0.3)):
        assert atoms.info["sigma_A"] == pytest.approx(sigma)
        # displacement from the strained ideal sites (same fractional positions, new cell)
        ideal = base.get_scaled_positions(wrap=False) @ atoms.cell[:]
        disp = atoms.positions - ideal
        assert disp.std() == pytest.approx(sigma, rel=0.05)
        assert abs(np.linalg.det(atoms.cell[:]) / base.get_volume() - 1) < 0.1


def test_teacher_md_generator_runs_every_cell_at_every_temperature():
    settings = {"teacher_md": {"structures": ["licl", "mixed:0.5"], "temperatures_K": [300.0, 600.0],
                               "steps": 4, "every": 2, "timestep_fs": 1.0}}
    calls = []

    def teacher():
        calls.append(1)
        return LennardJones(sigma=2.5, epsilon=0.01, rc=5.0)

    frames, n = generate(settings, [], seed=5, teacher=teacher, model_path=None, folder=".")
    assert n == {"teacher_md": 8} and len(calls) == 1  # the teacher is fetched once per generator
    temps = [f.info["temperature_K"] for f in frames]
    assert temps == [300.0] * 4 + [600.0] * 4
    assert {f.info["parent"] for f in frames} == {"licl", "mixed:0.5"}
    assert all(f.info[keys.CONFIG_TYPE] == "teacher_md" for f in frames)
    again, _ = generate(settings, [], seed=5, teacher=teacher, model_path=None, folder=".")
    assert all(np.array_equal(a.positions, b.positions) for a, b in zip(frames, again))
    with pytest.raises(SetupError, match="not in generation 0"):
        generate({"ssw_walk": {}}, [], seed=5, teacher=teacher, model_path=None, folder=".")


@pytest.mark.lammps
def test_ssw_walk_generator_labels_the_walks_minima_and_resumes(tmp_path):
    from lizrcl_tools.ssw.database import MinimaDB
    from lizrcl_tools.ssw.toy import ROCKSALT_A, toy_licl_potential

    start = bulk("LiCl", "rocksalt", a=ROCKSALT_A, cubic=True)
    start.rattle(0.3, seed=1)
    frames = ssw_walks([start], toy_licl_potential(), tmp_path, steps=2, walkers=2, seed=4,
                       window_eV_atom=5.0, max_walk_points=3)
    kinds = [f.info[keys.CONFIG_TYPE] for f in frames]
    n_minima = MinimaDB(tmp_path / "minima.db").count()
    assert kinds.count("ssw_minimum") == n_minima >= 1 and kinds.count("ssw_walk") <= 3
    assert all(f.info["seed"] == 4 for f in frames)
    # rerun: both walks are at step 2 already (checkpoints), nothing new is walked
    again = ssw_walks([start], toy_licl_potential(), tmp_path, steps=2, walkers=2, seed=4,
                      window_eV_atom=5.0, max_walk_points=3)
    assert len(again) == len(frames) and MinimaDB(tmp_path / "minima.db").count() == n_minima


def test_default_model_recipe_loads_and_its_plan_checks():
    from lizrcl_tools.cli import run
    from lizrcl_tools.learn.loop import check_plan

    recipe = load_recipe(DEFAULT_RECIPE)
    names = [recipe.plan(k)["name"] for k in range(recipe.generations)]
    assert names == ["initial", "round1", "round2", "round3", "round4", "round5"]
    plans = [recipe.plan(k) for k in range(recipe.generations)]
    assert "ssw_walk" in plans[4]["generators"] and "random_cells" in plans[5]["generators"]
    assert plans[5]["generators"]["random_cells"]["x_range"] == [0.0, 1.0]
    assert set(plans[2]["generators"]["contacts"]["pairs"]) == {"Cl-Cl", "Li-Cl", "Zr-Cl", "Li-Li", "Li-Zr"}
    # per-round training merged over the top level: the last round keeps r_max, sets its epochs
    assert plans[5]["train"]["r_max"] == 5.0 and plans[5]["train"]["max_num_epochs"] == 150
    assert plans[0]["train"]["max_num_epochs"] == 60
    assert len(check_plan(recipe)) == 6
    assert run(["learn", str(DEFAULT_RECIPE), "--check"]) == 0


def test_recipe_rounds_are_checked_key_by_key():
    base = {"teacher": "sevennet", "generations": [{"name": "a", "generators": {"rattle": {}}},
                                                  {"name": "b", "generators": {"ssw_walk": {"steps": 2}}}]}
    recipe = recipe_from_dict(base)
    assert recipe.generations == 2 and recipe.plan(1)["generators"]["ssw_walk"]["walkers"] == 2
    bad = [
        ({"generations": [{"generators": {"ssw_walk": {}}}]}, "generations\\[0\\].generators.ssw_walk"),
        ({"generators": {"contacts": {"pairs": {"Li-Xx": [1, 2]}}}}, "generators.contacts.pairs.Li-Xx"),
        ({"generators": {"contacts": {"pairs": {"Li-Cl": [2.4, 1.6]}}}}, "generators.contacts.pairs.Li-Cl"),
        ({"generators": {"random_cells": {"x_one_fraction": 1.5}}}, "generators.random_cells.x_one_fraction"),
        ({"generators": {"ssw_minima": {}}}, "generators.ssw_minima.databases"),
        ({"generations": [{"generators": {"rattle": {}}, "train": {"epochs": 3}}]}, "generations\\[0\\].train.epochs"),
        ({"generations": [{"generators": {"rattle": {}}, "colour": 1}]}, "generations\\[0\\].colour"),
    ]
    for extra, key in bad:
        data = {"teacher": "sevennet", "generators": {"rattle": {}}, **extra}
        with pytest.raises(PresetError, match=f"key '{key}'"):
            recipe_from_dict(data, "r.yaml")


@pytest.mark.parametrize("x", [0.0, 0.2, 1 / 3, 0.5, 0.7, 1.0])
def test_mixed_cells_are_charge_balanced_with_the_rounded_zr_count(x):
    from lizrcl_tools.learn.generators import mixed_cell

    rng = np.random.default_rng(3)
    for _ in range(5):
        atoms = mixed_cell(x, rng)
        n = counts(atoms)
        assert n["Cl"] == n["Li"] + 4 * n["Zr"]
        # x = n_Zr / (n_Li + n_Zr) with n_Cl fixed by the lattice gives n_Zr = x n_Cl / (1 + 3x), rounded
        assert n["Zr"] == round(x * n["Cl"] / (1 + 3 * x))
        # cations sit in holes of a close-packed lattice: no pair closer than 2.2 Å
        d = atoms.get_all_distances(mic=True)
        np.fill_diagonal(d, np.inf)
        assert d.min() > 2.2


def test_strain_is_symmetric_and_bounded():
    from lizrcl_tools.learn.generators import strained

    base = bulk("LiCl", "rocksalt", a=5.13, cubic=True)
    out = strained(base, np.random.default_rng(1), 0.04)
    eps = np.linalg.solve(base.cell[:], out.cell[:]) - np.eye(3)
    np.testing.assert_allclose(eps, eps.T, atol=1e-12)
    assert np.abs(eps).max() <= 0.04
    np.testing.assert_allclose(out.get_scaled_positions(), base.get_scaled_positions(), atol=1e-12)


def test_teacher_md_starts_are_the_requested_cells():
    from lizrcl_tools.learn.generators import teacher_md_starts

    specs = ["mixed:0.1", "mixed:0.25", "mixed:0.4", "li2zrcl6-p3m1@54", "li2zrcl6-c2m@36"]
    starts = teacher_md_starts(specs, seed=9026)
    for atoms in starts[:3]:  # the Li-rich random cells of round 5
        n = counts(atoms)
        assert n["Cl"] == n["Li"] + 4 * n["Zr"] and 0 < n["Zr"] / (n["Li"] + n["Zr"]) <= 0.45
    assert [len(a) for a in starts[3:]] == [54, 36]
    ideal = build("li2zrcl6-p3m1", n_atoms=54)
    ratio = np.diag(np.linalg.solve(ideal.cell[:], starts[3].cell[:]))
    assert np.all(np.abs(ratio - 1) <= 0.02)  # axes strained by at most ±2 %
    assert [a.info["name"] for a in starts] == specs


# --------------------------------------------------------------------------------------------
# Committee disagreement


def _lj(epsilon: float) -> LennardJones:
    return LennardJones(sigma=3.4, epsilon=epsilon, rc=8.0, smooth=False)


def test_force_disagreement_of_scaled_lennard_jones_models_is_known_exactly():
    """LJ forces are linear in ε: members with ε = 1.0, 1.1 and 1.3 differ on every atom by
    0.1 and 0.3 × the ε = 1 force, so the committee score is 0.3 × the largest force."""
    from lizrcl_tools.learn.frames import force_disagreement, select_disagreement

    frames = []
    for k, sigma in enumerate((0.0, 0.01, 0.05, 0.1, 0.2)):
        atoms = bulk("Ar", "fcc", a=5.26, cubic=True).repeat(2)
        atoms.rattle(sigma, seed=k)
        frames.append(atoms)
    reference = []
    for atoms in frames:
        a = atoms.copy()
        a.calc = _lj(1.0)
        reference.append(np.linalg.norm(a.get_forces(), axis=1).max())
    reference = np.array(reference)
    assert reference[0] < 1e-10 and np.all(np.diff(reference) > 0)  # ideal fcc: no force; then growing
    two = force_disagreement(frames, [_lj(1.0), _lj(1.1)])
    np.testing.assert_allclose(two, 0.1 * reference, rtol=1e-9, atol=1e-12)
    three = force_disagreement(frames, [_lj(1.0), _lj(1.1), _lj(1.3)])
    np.testing.assert_allclose(three, 0.3 * reference, rtol=1e-9, atol=1e-12)
    threshold = 0.1 * 0.5 * (reference[2] + reference[3])  # between frames 2 and 3
    keep, scores = select_disagreement(frames, [_lj(1.0), _lj(1.1)], threshold)
    assert keep == [3, 4] and np.array_equal(scores, two)
    same, _ = select_disagreement(frames, [_lj(1.0), _lj(1.0)], 0.0)
    assert same == []  # identical members never disagree


def test_committee_members_resolve_to_the_previous_generations_models(tmp_path):
    import json
    from types import SimpleNamespace

    from lizrcl_tools.learn.loop import committee

    teacher = SimpleNamespace(calculator=_lj(1.0))
    assert committee(["previous", "teacher"], tmp_path, 0, lambda: teacher) is None  # no model yet
    (tmp_path / "gen_000").mkdir()
    model = REPO / "lizrcl_tools" / "data" / "lizrcl_mace_small.model"
    (tmp_path / "gen_000" / "train.done").write_text(json.dumps({"model": str(model)}))
    calcs = committee(["previous", "teacher"], tmp_path, 1, lambda: teacher)
    assert calcs[1] is teacher.calculator and type(calcs[0]).__name__ == "MACECalculator"
    assert committee(["previous", "previous2"], tmp_path, 1, lambda: teacher) is None


def test_recipe_committee_needs_two_members_and_a_threshold():
    base = {"teacher": "sevennet", "generators": {"rattle": {}}}
    recipe = recipe_from_dict({**base, "select": {"committee": ["previous", "teacher"], "min_disagreement_eV_A": 0.3}})
    assert recipe.plan(0)["committee"] == ["previous", "teacher"] and recipe.plan(0)["min_disagreement_eV_A"] == 0.3
    rounds = recipe_from_dict({**base, "generations": [{"name": "a"}, {"select": {"committee": ["previous", "previous2"],
                                                                                  "min_disagreement_eV_A": 0.2}}]})
    assert rounds.plan(0)["committee"] == [] and rounds.plan(1)["committee"] == ["previous", "previous2"]
    for select, key in (({"committee": ["previous"], "min_disagreement_eV_A": 0.3}, "select.committee"),
                        ({"committee": ["previous", "teacher"]}, "select.min_disagreement_eV_A"),
                        ({"min_disagreement_eV_A": 0.3}, "select.committee"),
                        ({"committee": ["previous", "teacher"], "min_disagreement_eV_A": -1}, "select.min_disagreement_eV_A")):
        with pytest.raises(PresetError, match=f"key '{key}'"):
            recipe_from_dict({**base, "select": select}, "r.yaml")
