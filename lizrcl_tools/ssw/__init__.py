"""Stochastic surface walking (SSW) global optimisation of crystals inside LAMMPS.

Modules
-------
bias         generalised coordinates (atoms + strain) and the Gaussian bias potentials
relax        FIRE relaxation (atoms + cell, optionally biased), one force call per iteration
dimer        biased-dimer softening of the walking direction
climb        one step's random direction, Gaussian climb and quench (force calls booked by phase)
walker       the SSW step, Metropolis acceptance, checkpoint/resume (:class:`SSWWalker`)
profile      per-phase force-call sums of a walk (``lizrcl ssw --profile``)
merge        merging per-walker minima databases
parameters   the walk's settings (:class:`SSWParameters`)
checkpoint   the JSON checkpoint and the per-step :class:`StepRecord`
database     the minima database (ASE SQLite), duplicate merging, safe for several walkers
fingerprint  structural fingerprint, distance-weighted Steinhardt Q_l, space group
export       minima table, CIF/extxyz export, frames for labelling
pesmap       order parameter vs energy map of minima (paper Fig. S2)
toy          a cheap rocksalt-favouring LiCl potential for tests and benchmarks

The LAMMPS engine they all drive (counted force calls, hard budget, minimise, Python bias) is
:mod:`lizrcl_tools.potential.lammps_engine`.

References: Shang & Liu, JCTC 9, 1838 (2013); Shang, Zhang & Liu, PCCP 16, 17845 (2014);
Shang & Liu, JCTC 8, 2215 (2012); Huang, Shang & Liu, Chem. Sci. (2017).
"""

from lizrcl_tools.ssw.database import MinimaDB
from lizrcl_tools.ssw.checkpoint import StepRecord
from lizrcl_tools.ssw.parameters import SSWParameters
from lizrcl_tools.ssw.walker import SSWWalker

__all__ = ["MinimaDB", "SSWParameters", "SSWWalker", "StepRecord"]
