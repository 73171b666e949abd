"""``lizrcl label``: add reference energies, forces and stresses to frames, resumably."""

from __future__ import annotations

import argparse

from lizrcl_tools.commands._common import (
    add_cluster_arguments,
    add_force_argument,
    add_min_distance_argument,
    cluster_of,
    min_distance_of,
)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``label`` arguments."""
    from lizrcl_tools.dataset.references import REFERENCES

    known = "; ".join(f"{name}: {text}" for name, (_, text) in REFERENCES.items())
    parser.add_argument("input", help="frames to label (extxyz or any ASE-readable file)")
    parser.add_argument("-o", "--output", required=True,
                        help="labelled extxyz (written atomically when all frames are done)")
    parser.add_argument("--reference", default="sevennet", metavar="NAME[:ARG]",
                        help=f"reference calculator (default sevennet). Known: {known}")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"],
                        help="float type for MACE references")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--chunk-size", type=int, metavar="N",
                        help="with --workers/--cluster: frames per task (default: even over the workers)")
    add_cluster_arguments(parser)
    add_min_distance_argument(parser)
    add_force_argument(parser, "OUTPUT that is not this run's own (another dataset)")
    parser.epilog = ("Finished frames are kept in OUTPUT.partial.extxyz as they are computed; "
                     "rerunning the same command resumes and skips them. An existing OUTPUT "
                     "labelled from other frames or another reference is refused without --force.")
    parser.set_defaults(handler=_label)


def _label(args: argparse.Namespace) -> int:
    from lizrcl_tools.dataset.references import get_reference
    from lizrcl_tools.dataset.labelling import label_file

    cluster = cluster_of(args)
    if cluster is not None:
        from lizrcl_tools.dataset.parallel import label_frames_parallel
        from lizrcl_tools.fileio import iter_structures

        frames = list(iter_structures(args.input, min_distance=min_distance_of(args)))
        out = label_frames_parallel(frames, args.reference, args.output, cluster, chunk_size=args.chunk_size,
                                    device=args.device, dtype=args.dtype, force=args.force)
        print(f"wrote {len(frames)} labelled frames to {out} (chunks in {out.name}.chunks/; {cluster.source})")
        return 0
    reference = get_reference(args.reference, device=args.device, dtype=args.dtype)
    summary = label_file(args.input, args.output, reference, progress=not args.no_progress,
                         force=args.force, min_distance=min_distance_of(args))
    print(f"wrote {summary.n_frames} labelled frames to {summary.output} "
          f"({summary.n_computed} computed, {summary.n_reused} reused; {summary.reference})")
    return 0
