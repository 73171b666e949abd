"""Options shared by several commands, so each means the same everywhere.

- ``--force``: replace an existing finished result or dataset (the old file is kept as a
  numbered backup, see :mod:`lizrcl_tools.fileio`); without it the command refuses before
  doing any work.
- ``--min-distance``: the per-pair minimum interatomic distance of the input checks
  (:func:`lizrcl_tools.structures.checks.parse_min_distance`).
- ``--max-atoms``: the largest cell a command builds (:data:`lizrcl_tools.structures.MAX_ATOMS`).

Use: ``add_force_argument(parser)`` in ``configure``, then pass ``force=args.force`` to the
writer (``fileio.check_output`` first, ``write_*_atomic(..., force=args.force)`` at the end).
"""

from __future__ import annotations

import argparse


def add_force_argument(parser: argparse.ArgumentParser, what: str = "output file") -> None:
    """Add ``--force``: replace an existing ``what`` (keeping the old one as NAME.bakN.EXT)."""
    parser.add_argument(
        "--force",
        action="store_true",
        help=f"replace an existing {what}; the old file is kept as a numbered backup "
        "(NAME.bak1.EXT, NAME.bak2.EXT, ...). Without it, an existing output is refused "
        "before any work starts",
    )


def add_min_distance_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--min-distance`` (repeatable); read it with :func:`min_distance_of`."""
    parser.add_argument(
        "--min-distance",
        action="append",
        default=None,
        metavar="Å|PAIR=Å",
        help="minimum interatomic distance accepted in input structures: one number for every "
        "element pair, or PAIR=Å for one pair (repeatable, e.g. --min-distance Li-Cl=1.0); "
        "0 turns the check off. Default: 0.5 × the sum of covalent radii (Li–Li 1.28, "
        "Li–Zr 1.52, Li–Cl 1.15, Zr–Zr 1.75, Zr–Cl 1.39, Cl–Cl 1.02 Å)",
    )


def min_distance_of(args: argparse.Namespace):  # noqa: ANN201 - float | dict | None
    """The ``min_distance`` argument of the readers, from ``--min-distance`` values."""
    from lizrcl_tools.structures.checks import parse_min_distance

    return parse_min_distance(getattr(args, "min_distance", None))


def add_max_atoms_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--max-atoms N``: the largest cell built (default 100,000; mixed cells 5,000)."""
    parser.add_argument(
        "--max-atoms",
        type=int,
        default=None,
        metavar="N",
        help="refuse to build a cell above N atoms (default 100,000 for supercells, 5,000 for "
        "a mixed cell before repetition): a guard against typos such as --repeat 60 60 60",
    )


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--cluster FILE`` and ``--workers N`` (parallel tasks through Parsl); read them
    with :func:`cluster_of`."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--cluster", metavar="FILE",
                       help="cluster file (YAML, one resource block per stage: provider local|slurm|pbspro, "
                       "partition, account, cores, walltime, max_blocks, worker_init, retries): run the "
                       "independent tasks through Parsl there (README: 'Running on a cluster')")
    group.add_argument("--workers", type=int, metavar="N",
                       help="run the independent tasks as N parallel local Parsl workers")


def cluster_of(args: argparse.Namespace):  # noqa: ANN201 - ClusterConfig | None
    """The :class:`~lizrcl_tools.cluster.ClusterConfig` of ``--cluster``/``--workers``, or None
    (serial, in this process)."""
    from lizrcl_tools.cluster.config import load_cluster_config, local_cluster

    if getattr(args, "cluster", None):
        return load_cluster_config(args.cluster)
    if getattr(args, "workers", None) is not None:
        return local_cluster(args.workers)
    return None
