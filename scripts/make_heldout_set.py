#!/usr/bin/env python
"""Rebuild the shipped MACE model's held-out set, ``lizrcl_tools/data/lizrcl_mace_small_heldout.extxyz.gz``.

The set was made by the first-generation generators of commit 5227c75
(``scripts/make_default_model.py``: ``static_frames(3026, 2, 8)`` plus three 600 K SevenNet-0
Langevin runs, seeds 7026/7126/7226), which later moved into ``lizrcl_tools/learn``. This checks
that commit out in a temporary git worktree, runs exactly those functions with its own package,
and writes the labelled frames (40, eV / eV/Å / eV/Å³). ~20 s on 2 cores.

Usage::

    .venv/bin/python scripts/make_heldout_set.py -o heldout.extxyz.gz
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
import tempfile
from pathlib import Path

COMMIT = "5227c75"
SEED = 2026
MD_RUNS = (("li2zrcl6-p3m1", 600, 16), ("li2zrcl6-c2m", 600, 16), ("mixed:0.25", 600, 16))

_DRIVER = """
import sys
from pathlib import Path
old = Path(sys.argv[1])
sys.path[:0] = [str(old), str(old / "scripts")]
import numpy as np
import ase.io
import make_default_model as mdm
from lizrcl_tools.dataset.labelling import label_frames
from lizrcl_tools.dataset.references import get_reference
seed, out = int(sys.argv[2]), Path(sys.argv[3])
runs = eval(sys.argv[4])
reference = get_reference("sevennet")
label_frames(mdm.static_frames(seed + 1000, 2, 8), reference, out.with_suffix(".static.extxyz"), progress=False)
frames = ase.io.read(out.with_suffix(".static.extxyz"), index=":")
crystals, _ = mdm.crystal_structures(np.random.default_rng(seed + 7))
for k, (name, temperature, n_steps) in enumerate(runs):
    run_seed = seed + 5000 + 100 * k
    rng = np.random.default_rng(run_seed)
    start = (mdm.mixed_cell(float(name.split(":")[1]), rng) if name.startswith("mixed:")
             else mdm.strained(crystals[name], rng, 0.01))
    start.rattle(0.05, seed=run_seed)
    frames += mdm.md_snapshots(start, reference, temperature, n_steps, 2, run_seed, f"md{temperature}K")
ase.io.write(out, frames, format="extxyz")
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--output", required=True, help="gzipped extxyz to write (refused if it exists)")
    args = parser.parse_args()
    output = Path(args.output)
    if output.exists():
        raise SystemExit(f"{output} exists; remove it or choose another name")
    repo = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", "-q", str(old), COMMIT], check=True)
        try:
            plain = Path(tmp) / "heldout.extxyz"
            subprocess.run([sys.executable, "-c", _DRIVER, str(old), str(SEED), str(plain), repr(MD_RUNS)],
                           check=True, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}, cwd=tmp)
            partial = output.with_name(output.name + ".tmp")
            with open(plain, "rb") as src, gzip.open(partial, "wb", compresslevel=9) as dst:
                dst.write(src.read())
            partial.replace(output)
        finally:
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(old)], check=False)
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
