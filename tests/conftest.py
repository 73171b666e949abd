"""Shared test helpers: where the real VASP fixtures live (skips when absent); scripts/ on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The scripts (scripts/*.py: benchmarks) are not a package; tests of them import them by name,
# and a broken script must fail those tests, not skip them.
SCRIPTS = REPO / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))
# Read in place from the workplace's shared folder (never copied into the project).
FIXTURES = REPO.parent / "shared" / "fixtures"
VASP_FIXTURES = FIXTURES / "vasp"


@pytest.fixture
def vasp_fixture():
    """Return a function giving the path of a named file in ../shared/fixtures/vasp.

    Skips the test, with the reason, where the folder is absent (a user's clone).
    """

    def _get(name: str) -> Path:
        path = VASP_FIXTURES / name
        if not path.exists():
            pytest.skip(f"real VASP fixture {path} not present (only in the project workspace/CI)")
        return path

    return _get


@pytest.fixture
def toy_walk(tmp_path):
    """Return ``walk(tag, n_steps, params, seed, stop_at=None, budget=None)``: an SSW walk of a
    rattled 16-atom rocksalt LiCl cell with the toy potential, database and checkpoint
    ``tmp_path/<tag>.db|json``; with ``stop_at`` it stops there and resumes from its checkpoint,
    with ``budget`` it runs under that hard force-call budget. The closed walker is returned."""
    from ase.build import bulk

    from lizrcl_tools.ssw import SSWWalker
    from lizrcl_tools.ssw.toy import ROCKSALT_A, toy_licl_potential

    atoms = bulk("LiCl", "rocksalt", a=ROCKSALT_A, cubic=True).repeat((2, 1, 1))
    atoms.rattle(0.3, seed=4)

    def walk(tag, n_steps, params, seed, stop_at=None, budget=None):
        w = SSWWalker(atoms, toy_licl_potential(), tmp_path / f"{tag}.db", params, seed=seed,
                      checkpoint=tmp_path / f"{tag}.json")
        if stop_at is not None:
            w.run(stop_at, progress=False)
            w.close()
            w = SSWWalker.resume(tmp_path / f"{tag}.json")
        w.run(n_steps, progress=False, max_force_calls=budget)
        w.close()
        return w

    return walk


@pytest.fixture
def resumes_and_cuts_exactly():
    """Return ``check(walk, history, n_steps, stop_at, cut_step, slack)``: a walk stopped at
    ``stop_at`` and resumed makes the moves, energies and calls of ``history`` (the
    uninterrupted walk's); one under a budget of ``history[cut_step]``'s calls + ``slack`` never
    passes it and stops after that step. ``walk`` is the ``toy_walk``-style function of the test."""

    def check(walk, history, n_steps, stop_at, cut_step, slack):
        resumed = walk("res", n_steps, stop_at=stop_at)
        assert [(r.move, r.energy, r.force_calls) for r in resumed.state.history] == \
            [(r.move, r.energy, r.force_calls) for r in history]
        budget = history[cut_step].force_calls + slack
        cut = walk("cut", n_steps, budget=budget)
        assert cut.engine.force_calls <= budget
        assert [(r.move, r.energy) for r in cut.state.history] == \
            [(r.move, r.energy) for r in history[:cut_step + 1]]
        return resumed

    return check
