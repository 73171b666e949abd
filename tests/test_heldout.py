"""The shipped model's held-out set is in the repository and reproduces its card's table."""

from __future__ import annotations

import re

import pytest

from lizrcl_tools.dataset.stats import composition_x
from lizrcl_tools.potential.evaluate import evaluate_file
from lizrcl_tools.potential.model_files import default_heldout_path, default_model_path


def _card_row(label: str) -> tuple[int, float, float, float]:
    card = default_model_path().with_suffix(".md").read_text(encoding="utf-8")
    match = re.search(rf"^\| {re.escape(label)} \| (\d+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$",
                      card, flags=re.MULTILINE)
    assert match, f"no '{label}' row in the card"
    n, e, f, s = match.groups()
    return int(n), float(e), float(f), float(s)


def _decimals(text_value: float) -> float:
    """Half a unit of the last printed digit (the card rounds to 3 significant figures)."""
    digits = len(repr(text_value).split(".")[1]) if "." in repr(text_value) else 0
    return 0.5 * 10.0 ** (-digits) + 1e-12


def test_heldout_set_reproduces_the_card():
    import ase.io

    path = default_heldout_path()
    assert path is not None and path.name.endswith("_heldout.extxyz.gz")
    frames = ase.io.read(path, index=":")
    assert len(frames) == 40 and all(f.info["seed"] in (3026, 7026, 7126, 7226) for f in frames)
    xs = [composition_x(f) for f in frames]
    assert min(xs) == 0.0 and max(xs) == 1.0  # the set spans LiCl to ZrCl4

    n, e_card, f_card, s_card = _card_row("held-out, all")
    report = evaluate_file(path, progress=False)
    assert report["n_frames"] == n
    assert report["energy_rmse_meV_per_atom"] == pytest.approx(e_card, abs=_decimals(e_card))
    assert report["force_rmse_eV_per_A"] == pytest.approx(f_card, abs=_decimals(f_card))
    assert report["stress_rmse_GPa"] == pytest.approx(s_card, abs=_decimals(s_card))
    n_md, e_md, f_md, _ = _card_row("held-out md600K")
    md = report["by_config_type"]["md600K"]
    assert md["n_frames"] == n_md
    assert md["energy_rmse_meV_per_atom"] == pytest.approx(e_md, abs=_decimals(e_md))
    assert md["force_rmse_eV_per_A"] == pytest.approx(f_md, abs=_decimals(f_md))
