"""Powder XRD: Bragg's law on rocksalt LiCl, Rwp of a pattern against itself and against another."""

from __future__ import annotations

import numpy as np
import pytest

from lizrcl_tools.analysis.xrd import CU_KALPHA_A, compare_patterns, profile, read_xy, rwp, simulate_peaks
from lizrcl_tools.errors import ParseError
from lizrcl_tools.structures import build

A = 5.13  # Å


def _bragg(h: int, k: int, l: int, wavelength: float = CU_KALPHA_A) -> float:
    d = A / np.sqrt(h * h + k * k + l * l)
    return float(np.degrees(2 * np.arcsin(wavelength / (2 * d))))


def test_rocksalt_licl_peaks_sit_where_braggs_law_puts_the_fcc_reflections():
    peaks = simulate_peaks(build("licl", a=A), two_theta_range=(10, 80))
    # fcc: h, k, l all even or all odd; (111) (200) (220) (311) (222) (400) (331) (420) below 80° for Cu Kα.
    allowed = [(1, 1, 1), (2, 0, 0), (2, 2, 0), (3, 1, 1), (2, 2, 2), (4, 0, 0), (3, 3, 1), (4, 2, 0)]
    expected = sorted(t for t in (_bragg(*hkl) for hkl in allowed) if t <= 80)
    assert peaks.two_theta == pytest.approx(expected, abs=1e-3)
    assert peaks.d_A[1] == pytest.approx(A / 2, abs=1e-6)
    # (100) and (110) are extinct in fcc.
    assert all(abs(t - _bragg(1, 0, 0)) > 0.5 and abs(t - _bragg(1, 1, 0)) > 0.5 for t in peaks.two_theta)
    assert peaks.hkl[:2] == ["(111)", "(200)"]
    # Another wavelength moves every line by Bragg's law.
    sync = simulate_peaks(build("licl", a=A), wavelength_A=0.6884, two_theta_range=(5, 30))
    assert sync.two_theta[0] == pytest.approx(_bragg(1, 1, 1, 0.6884), abs=1e-3)


def test_rwp_is_zero_for_a_pattern_against_itself_and_scaled_copies():
    peaks = simulate_peaks(build("licl", a=A))
    grid = np.arange(10, 80, 0.02)
    y = profile(peaks, grid, 0.1) + 1.0
    assert rwp(y, y) == pytest.approx((0.0, 1.0), abs=1e-12)
    r, scale = rwp(y, y / 3.0)
    assert r == pytest.approx(0.0, abs=1e-12) and scale == pytest.approx(3.0)
    other = profile(simulate_peaks(build("licl", a=A * 1.03)), grid, 0.1) + 1.0
    assert rwp(y, other)[0] > 0.5  # 3 % larger lattice: every line moved by more than its width


def test_compare_patterns_ranks_the_right_structure_first(tmp_path):
    grid = np.arange(10, 80, 0.02)
    measured = profile(simulate_peaks(build("licl", a=A)), grid, 0.1)
    path = tmp_path / "measured.xy"
    np.savetxt(path, np.column_stack([grid, 5 * measured]), header="2theta intensity")
    x, y = read_xy(path)
    result = compare_patterns([("licl-wide", build("licl", a=5.3)), ("licl", build("licl", a=A))], (x, y))
    assert result["ranking"] == ["licl", "licl-wide"]
    assert result["patterns"]["licl"]["rwp"] == pytest.approx(0.0, abs=1e-6)


def test_read_xy_names_the_bad_line(tmp_path):
    path = tmp_path / "bad.xy"
    path.write_text("# 2theta I\n10.0 5\n10.02 five\n")
    with pytest.raises(ParseError, match=r"bad.xy.*3"):
        read_xy(path)


def test_cli_xrd_ranks_structures_against_a_measured_file(tmp_path, capsys):
    from lizrcl_tools.cli import run

    grid = np.arange(10, 80, 0.02)
    measured = tmp_path / "m.xy"
    np.savetxt(measured, np.column_stack([grid, profile(simulate_peaks(build("licl")), grid, 0.1)]))
    assert run(["xrd", "licl", "zrcl4", "--measured", str(measured), "-o", str(tmp_path / "x")]) == 0
    out = capsys.readouterr().out
    assert "ranking by Rwp: licl, zrcl4" in out
    assert (tmp_path / "x" / "xrd.png").stat().st_size > 1000
