"""Format-level checks of structure files that ASE's readers do not make.

- :func:`check_cif_occupancy`: every CIF site fully occupied (ASE would fill a partial site).
- :func:`explain_poscar`: the first line of a broken POSCAR, for an error that names it.

Called by :func:`lizrcl_tools.fileio.iter_structures`.
"""

from __future__ import annotations

from pathlib import Path

from lizrcl_tools.errors import ParseError


def check_cif_occupancy(path: Path) -> None:
    """Refuse a CIF with a site whose occupancy is not 1, naming the site and its line.

    ASE would otherwise place a full atom on every partially occupied site (or several atoms
    on a shared one), silently simulating another compound.
    """
    from ase.io.cif import parse_cif

    try:
        blocks = list(parse_cif(str(path)))
    except Exception as exc:  # noqa: BLE001 - the reader proper reports unreadable files
        raise ParseError(path, f"cannot read as CIF ({type(exc).__name__}: {exc})") from exc
    lines = path.read_text(errors="replace").splitlines()
    for block in blocks:
        occupancies = block.get("_atom_site_occupancy")
        if occupancies is None:
            continue
        labels = block.get("_atom_site_label") or [f"#{k + 1}" for k in range(len(occupancies))]
        symbols = block.get("_atom_site_type_symbol") or labels
        for label, symbol, occ in zip(labels, symbols, occupancies):
            try:
                value = float(occ)
            except (TypeError, ValueError):
                raise ParseError(path, f"site {label}: occupancy {occ!r} is not a number") from None
            if abs(value - 1.0) > 1e-3:
                line = next(
                    (k + 1 for k, text in enumerate(lines) if text.split()[:1] == [str(label)]),
                    None,
                )
                raise ParseError(
                    path,
                    f"site {label} ({symbol}) has occupancy {value:g}; only fully occupied sites "
                    "can be simulated (a partial or shared site would be filled with whole atoms). "
                    "Order the structure first — choose which sites are occupied, in a supercell "
                    "if needed — and give that cell",
                    line,
                )


def explain_poscar(path: Path) -> None:
    """Find the first line of a POSCAR/CONTCAR that breaks the format and raise a ParseError there.

    Returns without raising when the layout looks right (the caller then reports ASE's error).
    """
    lines = path.read_text(errors="replace").splitlines()

    def numbers(k: int, what: str, count: tuple[int, ...], kind: type = float) -> list:
        if k >= len(lines):
            raise ParseError(path, f"the file ends before line {k + 1}, where {what} was expected", len(lines))
        tokens = lines[k].split()
        try:
            values = [kind(t) for t in tokens[: max(count)]]
        except ValueError:
            values = []
        if len(values) not in count or (len(tokens) < max(count) and len(tokens) not in count):
            raise ParseError(
                path, f"expected {what}, found {lines[k].strip()[:60]!r}", k + 1
            )
        return values

    numbers(1, "the scaling factor (1 or 3 numbers)", (1, 3))
    for k in (2, 3, 4):
        numbers(k, f"lattice vector {k - 1} (3 numbers, Å)", (3,))
    k = 5
    if k < len(lines) and lines[k].split() and not lines[k].split()[0].lstrip("-").isdigit():
        k += 1  # the element-symbol line (VASP 5)
    if k >= len(lines):
        raise ParseError(path, "the file ends before the atom counts", len(lines))
    try:
        counts = [int(t) for t in lines[k].split()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 0:
        raise ParseError(path, f"expected the atom counts per element, found {lines[k].strip()[:60]!r}", k + 1)
    k += 1
    if k < len(lines) and lines[k].strip()[:1] in ("S", "s"):
        k += 1  # Selective dynamics
    if k >= len(lines) or lines[k].strip()[:1] not in ("D", "d", "C", "c", "K", "k"):
        raise ParseError(path, "expected 'Direct' or 'Cartesian' before the coordinates", min(k + 1, len(lines)))
    for atom in range(sum(counts)):
        numbers(k + 1 + atom, f"coordinates of atom {atom + 1} of {sum(counts)} (3 numbers)", (3,))
