"""A faster, numerically equivalent form of MACE's symmetric contraction for inference.

MACE's product basis evaluates, for every node ``b`` and channel ``c``, a polynomial of degree
ν ≤ correlation in the node's ``L`` equivariant features ``x[b, c, :]``::

    B[b, c] = Σ_ν Σ_{w1..wν} C_ν[e_b, c, w1, …, wν] x[b, c, w1] ⋯ x[b, c, wν]

with ``C_ν[e, c, …] = Σ_p U_ν[…, p] W_ν[e, p, c]`` (``U_ν``: fixed coupling coefficients,
``W_ν``: learnt weights, ``e_b``: the node's element). mace rebuilds the element-weighted
coefficients for every node at every call (an einsum over the paths ``p`` per node). For a
trained model the weights no longer change, so :class:`ElementContraction` forms ``C_ν`` once
per element and evaluates the same nested (Horner-like) sum over nodes grouped by element,
the largest step as one batched matrix product per channel. The result is the same number up
to floating-point rounding; on the shipped model it is about 2.5× faster than mace's own
contraction in float32 on 2 CPU cores (``scripts/bench_md_speed.py`` measures the whole step).

Only contractions whose output is invariant (``0e``: every contraction of a max_L = 0 model and
the last layer of any model) are replaced; equivariant outputs keep mace's module.
"""

from __future__ import annotations

import torch
from e3nn.util.jit import compile_mode

MAX_COEFFICIENT_BYTES = 64 * 1024**2
"""Largest precomputed coefficient table (per contraction) :func:`fuse_contractions` accepts.
Large multi-element foundation models would need gigabytes; they keep mace's contraction."""


@compile_mode("script")
class ElementContraction(torch.nn.Module):
    """Invariant symmetric contraction with per-element coefficients formed once.

    Parameters
    ----------
    contraction : mace.modules.symmetric_contraction.Contraction
        A trained contraction with an invariant output (``U_matrix_1`` of shape ``[L, P]``).

    Notes
    -----
    ``forward(x, y)`` takes the node features ``x`` ``[n, channels, L]`` and the one-hot node
    attributes ``y`` ``[n, elements]`` (as mace's ``SymmetricContraction``) and returns
    ``[n, channels]``. Gradients with respect to ``x`` (forces) flow through it as usual.
    """

    def __init__(self, contraction: torch.nn.Module) -> None:
        super().__init__()
        correlation = int(contraction.correlation)
        u_first = contraction.U_matrix_1
        if u_first.dim() != 2:
            raise ValueError("only invariant (0e) contractions can be fused")
        weights = [contraction.weights_max] + list(contraction.weights)  # ν = max, max-1, …, 1
        letters = "wxvnzrtyuo"
        tables = []
        for k, weight in enumerate(weights):
            nu = correlation - k
            u = getattr(contraction, f"U_matrix_{nu}")
            idx = letters[:nu]
            tables.append(torch.einsum(f"{idx}p,epc->ec{idx}", u, weight).detach())
        first = tables[0]
        n_elem, channels, size = first.shape[0], first.shape[1], first.shape[2]
        self.size = size
        self.widths: list[int] = [size**nu for nu in range(correlation - 1, 0, -1)]
        # Leading step: t[c, n, (w1..wν-1)] = Σ_wν x[c, n, wν] C_ν[c, (w1..wν-1), wν].
        self.register_buffer(
            "leading", first.reshape(n_elem, channels, -1, size).transpose(2, 3).contiguous()
        )
        rest = [t.reshape(n_elem, channels, 1, -1) for t in tables[1:]]
        # Lower orders, flattened and concatenated so TorchScript sees one tensor; sizes L^ν.
        self.register_buffer(
            "lower", torch.cat(rest, dim=-1).contiguous() if rest
            else torch.zeros(n_elem, channels, 1, 0, dtype=first.dtype)
        )

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        n_nodes, channels, size = x.shape[0], x.shape[1], self.size
        element = torch.argmax(y, dim=1)
        features = x.transpose(0, 1)  # [channels, n, L]
        out = torch.zeros(channels, n_nodes, dtype=x.dtype, device=x.device)
        for e in range(self.leading.shape[0]):
            nodes = torch.nonzero(element == e).flatten()
            m = nodes.shape[0]
            a = features.index_select(1, nodes)  # [channels, m, L]
            t = torch.bmm(a, self.leading[e])  # [channels, m, L^(ν-1)]
            offset = 0
            for width in self.widths:
                t = t + self.lower[e, :, :, offset:offset + width]
                offset += width
                t = (t.view(channels, m, width // size, size) * a.unsqueeze(2)).sum(-1)
            out = out.index_copy(1, nodes, t.view(channels, m))
        return out.transpose(0, 1)


def _replace_invariant(symmetric: torch.nn.Module) -> bool:
    contractions = getattr(symmetric, "contractions", None)
    if contractions is None or len(contractions) != 1:
        return False
    contraction = contractions[0]
    u_first = getattr(contraction, "U_matrix_1", None)
    if u_first is None or u_first.dim() != 2:
        return False
    correlation = int(contraction.correlation)
    n_elem, _, channels = contraction.weights_max.shape
    size = u_first.shape[0]
    n_bytes = n_elem * channels * size**correlation * contraction.weights_max.element_size()
    return n_bytes <= MAX_COEFFICIENT_BYTES


def fuse_contractions(model: torch.nn.Module) -> int:
    """Replace every invariant symmetric contraction of a MACE model, in place.

    Parameters
    ----------
    model : torch.nn.Module
        A MACE model (``products[i].symmetric_contractions``), already in its final dtype.

    Returns
    -------
    int
        How many contractions were replaced (0 for models this does not apply to: equivariant
        products, cuequivariance layouts, coefficient tables over
        :data:`MAX_COEFFICIENT_BYTES`).
    """
    replaced = 0
    for product in getattr(model, "products", []):
        symmetric = getattr(product, "symmetric_contractions", None)
        cueq = getattr(product, "cueq_config", None)
        if cueq is not None and getattr(cueq, "enabled", False):
            continue  # cuequivariance passes element indices, not one-hot attributes
        if symmetric is None or not _replace_invariant(symmetric):
            continue
        product.symmetric_contractions = ElementContraction(symmetric.contractions[0])
        replaced += 1
    return replaced
