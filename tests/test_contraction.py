"""The fused symmetric contraction gives mace's numbers (energies, forces) on the shipped model."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import mace.modules  # noqa: F401  (import order for e3nn with torch >= 2.6)
from lizrcl_tools.potential.contraction import ElementContraction, fuse_contractions
from lizrcl_tools.potential.evaluate import default_model_path
from lizrcl_tools.structures import build


@pytest.fixture(scope="module")
def shipped_model():
    return torch.load(str(default_model_path()), map_location="cpu", weights_only=False).double()


def _one_hot(elements: torch.Tensor, n_elem: int) -> torch.Tensor:
    y = torch.zeros(len(elements), n_elem, dtype=torch.float64)
    y[torch.arange(len(elements)), elements] = 1.0
    return y


@pytest.mark.parametrize("elements", ["mixed", "one element only"])
def test_fused_contraction_equals_mace_with_gradient(shipped_model, elements):
    gen = torch.Generator().manual_seed(7)
    n = 40
    species = (torch.randint(0, 3, (n,), generator=gen) if elements == "mixed"
               else torch.full((n,), 2, dtype=torch.long))
    y = _one_hot(species, 3)
    for product in shipped_model.products:
        symmetric = product.symmetric_contractions
        fused = ElementContraction(symmetric.contractions[0])
        x = torch.randn(n, 32, 16, generator=gen, dtype=torch.float64, requires_grad=True)
        ref, got = symmetric(x, y), fused(x, y)
        assert got.shape == ref.shape == (n, 32)
        assert torch.allclose(got, ref, rtol=1e-12, atol=1e-12 * ref.abs().max().item())
        # A non-linear read-out of the output, so the gradient tests every order of x.
        g_ref = torch.autograd.grad(torch.tanh(ref).sum(), x)[0]
        g_got = torch.autograd.grad(torch.tanh(got).sum(), x)[0]
        assert torch.allclose(g_got, g_ref, rtol=1e-10, atol=1e-12 * g_ref.abs().max().item())


def test_scripted_fused_contraction_equals_eager(shipped_model):
    fused = ElementContraction(shipped_model.products[0].symmetric_contractions.contractions[0])
    scripted = torch.jit.script(fused)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(12, 32, 16, generator=gen, dtype=torch.float64)
    y = _one_hot(torch.tensor([0, 1, 2] * 4), 3)
    assert torch.equal(scripted(x, y), fused(x, y))


def test_fused_model_gives_mace_energy_and_forces(shipped_model):
    from mace.calculators import MACECalculator

    atoms = build("li2zrcl6-p3m1", n_atoms=54)
    atoms.rattle(0.05, seed=4)
    fused_model = copy.deepcopy(shipped_model)
    assert fuse_contractions(fused_model) == 2  # max_L 0: both products are invariant
    results = []
    for model in (shipped_model, fused_model):
        probe = atoms.copy()
        probe.calc = MACECalculator(models=model, device="cpu", default_dtype="float64")
        results.append((probe.get_potential_energy(), probe.get_forces(), probe.get_stress()))
    (e_ref, f_ref, s_ref), (e_got, f_got, s_got) = results
    assert abs(f_ref).max() > 0.1
    assert e_got == pytest.approx(e_ref, abs=1e-9 * len(atoms))
    np.testing.assert_allclose(f_got, f_ref, rtol=0, atol=1e-9)
    np.testing.assert_allclose(s_got, s_ref, rtol=0, atol=1e-11)


def test_equivariant_products_are_left_alone():
    from e3nn import o3
    from mace.modules.blocks import EquivariantProductBasisBlock

    product = EquivariantProductBasisBlock(
        node_feats_irreps=o3.Irreps("4x0e+4x1o+4x2e"), target_irreps=o3.Irreps("4x0e+4x1o"),
        correlation=2, num_elements=2,
    )
    holder = torch.nn.Module()
    holder.products = torch.nn.ModuleList([product])
    assert fuse_contractions(holder) == 0
    assert holder.products[0].symmetric_contractions is product.symmetric_contractions
