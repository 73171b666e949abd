"""Gaussian bias of SSW: energy, atomic forces and cell virial against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from lizrcl_tools.ssw.bias import BiasPotential, Coordinates, Gaussian, from_lowtri


def _setup(relax_cell: bool, seed: int = 3):
    rng = np.random.default_rng(seed)
    h0 = np.array([[5.0, 0.0, 0.0], [0.4, 5.3, 0.0], [-0.3, 0.6, 4.8]])
    pos0 = rng.uniform(0, 1, (6, 3)) @ h0
    coords = Coordinates(h0, ds_atom=0.6, ds_cell=0.05, relax_cell=relax_cell)
    bias = BiasPotential(coords)
    h, pos = h0, pos0
    for k in range(3):
        n = rng.normal(size=coords.size(6))
        n /= np.linalg.norm(n)
        bias.add(Gaussian(h, pos, n, 0.3 + 0.1 * k))
        h, pos = coords.step(h, pos, 0.7 * n)
    # A point displaced from every centre so all Gaussians have non-zero slope.
    h, pos = coords.step(h, pos, 0.3 * rng.normal(size=coords.size(6)))
    return bias, h, pos


@pytest.mark.parametrize("relax_cell", [False, True])
def test_bias_forces_match_finite_differences(relax_cell):
    bias, h, pos = _setup(relax_cell)
    energy, forces, _ = bias(h, pos)
    assert energy > 1e-3  # the test point feels the bias
    eps = 1e-5
    fd = np.zeros_like(pos)
    for i in range(len(pos)):
        for a in range(3):
            p, m = pos.copy(), pos.copy()
            p[i, a] += eps
            m[i, a] -= eps
            fd[i, a] = -(bias.energy(h, p) - bias.energy(h, m)) / (2 * eps)
    assert np.abs(forces).max() > 1e-2
    np.testing.assert_allclose(forces, fd, atol=1e-7, rtol=1e-6)


def test_bias_virial_matches_strain_derivative():
    bias, h, pos = _setup(True)
    _, _, virial = bias(h, pos)
    s = np.linalg.solve(h.T, pos.T).T
    eps = 1e-6
    fd = np.zeros(6)
    for k in range(6):
        e = np.zeros(6)
        e[k] = eps
        hp, hm = h @ (np.eye(3) + from_lowtri(e)), h @ (np.eye(3) - from_lowtri(e))
        fd[k] = -(bias.energy(hp, s @ hp) - bias.energy(hm, s @ hm)) / (2 * eps)
    assert np.abs(virial).max() > 1e-2
    np.testing.assert_allclose(virial, fd, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("relax_cell", [False, True])
def test_bias_generalized_force_matches_delta_derivative(relax_cell):
    bias, h, pos = _setup(relax_cell)
    gf = bias.generalized_force(h, pos)
    rng = np.random.default_rng(0)
    for _ in range(3):
        u = rng.normal(size=gf.size)
        eps = 1e-5
        hp, pp = bias.coords.step(h, pos, eps * u)
        hm, pm = bias.coords.step(h, pos, -eps * u)
        fd = -(bias.energy(hp, pp) - bias.energy(hm, pm)) / (2 * eps)
        assert gf @ u == pytest.approx(fd, rel=1e-6, abs=1e-8)


def test_zero_bias_is_zero():
    coords = Coordinates(np.eye(3) * 5, 0.6, 0.05, True)
    e, f, w = BiasPotential(coords)(np.eye(3) * 5, np.zeros((2, 3)))
    assert e == 0.0 and not f.any() and not w.any()
