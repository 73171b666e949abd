"""Continuous (unwrapped) atom paths from any coordinate convention, frame block by block.

Three conventions, each with its check (all in fractional coordinates s = (r − origin) C⁻¹ of
each frame's cell C, rows a, b, c, so triclinic and changing NPT cells are handled alike):

``unwrapped`` (LAMMPS ``xu yu zu`` / ``xsu ysu zsu``)
    Used as they are, after the jump check: a displacement between consecutive frames of more
    than half a box along a lattice vector (|Δs| > ``MAX_JUMP_FRACTION``) is impossible for a
    real ion in one dump interval and is what wrapped coordinates under an unwrapped header look
    like; refused, with the fix.
``image flags`` (``x y z`` or ``xs ys zs`` with ``ix iy iz``)
    r = (s + n) C + origin with the integer image counts n; the same jump check follows.
``minimum image`` (wrapped coordinates only: ``x y z``, XDATCAR, vasprun.xml, DCD, …)
    Frame to frame, Δs is reduced to its nearest image, Δs − round(Δs), and the image counts
    accumulate: n_{k+1} = n_k − round(s_{k+1} − s_k) (the equivalent of MDAnalysis' NoJump
    transformation). Correct only while every true displacement between frames stays under
    half a box; since a wrapped step beyond that cannot be seen, the reader refuses as soon
    as any reduced step exceeds ``MAX_WRAPPED_STEP_FRACTION`` (0.35) of a box length: the
    steps then reach far enough towards one half that some may have been folded the wrong way.
    Unwrapped input passes through unchanged (all its steps are small), so this mode is also
    the safe choice when the convention is unknown (extxyz, .traj).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lizrcl_tools.errors import ParseError

UNWRAPPED = "unwrapped"
IMAGES = "image flags"
MINIMUM_IMAGE = "minimum image"
MODES = (UNWRAPPED, IMAGES, MINIMUM_IMAGE)

MAX_JUMP_FRACTION = 0.5
"""Largest accepted |Δs| between frames of an unwrapped path (box lengths)."""

MAX_WRAPPED_STEP_FRACTION = 0.35
"""Largest accepted minimum-image |Δs| between frames of wrapped coordinates (box lengths)."""

_AXES = "abc"


class Unwrapper:
    """Turn blocks of frames into continuous Cartesian paths (Å); keeps the last frame's state.

    Parameters
    ----------
    mode : str
        One of :data:`MODES`.
    path : str or PathLike
        The trajectory, named in errors.
    labels : ndarray, optional
        Atom labels (ids) used in error messages; default 0-based indices.
    fix : str
        Advice appended to a refusal.
    """

    def __init__(self, mode: str, path: str | os.PathLike, labels: np.ndarray | None = None, fix: str = "") -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.path = Path(path)
        self.labels = labels
        self.fix = fix
        self._prev_s: np.ndarray | None = None
        self._prev_r: np.ndarray | None = None
        self._images: np.ndarray | None = None
        self._frame = 0
        self.max_step_fraction = 0.0
        """Largest |Δs| seen between consecutive frames (box lengths), for the record."""

    def __call__(
        self,
        coords: np.ndarray,
        cells: np.ndarray,
        origins: np.ndarray | None = None,
        images: np.ndarray | None = None,
        scaled: bool = False,
        steps: np.ndarray | None = None,
    ) -> np.ndarray:
        """Unwrap a block of k frames.

        Parameters
        ----------
        coords : ndarray, shape (k, n, 3)
            Cartesian positions (Å), or fractional ones with ``scaled``.
        cells : ndarray, shape (k, 3, 3)
            Cell rows per frame (Å).
        origins : ndarray, shape (k, 3), optional
            Box origin per frame (Å), default 0.
        images : ndarray, shape (k, n, 3), optional
            Image counts (mode ``image flags``).
        scaled : bool
            ``coords`` are fractional.
        steps : ndarray, shape (k,), optional
            MD steps, named in errors.

        Returns
        -------
        ndarray, shape (k, n, 3)
            Continuous Cartesian positions (Å).
        """
        k = coords.shape[0]
        if origins is None:
            origins = np.zeros((k, 3))
        inv = np.linalg.inv(cells)
        if self.mode == MINIMUM_IMAGE:
            s = coords if scaled else np.matmul(coords - origins[:, None, :], inv)
            r = self._minimum_image(s, cells, origins, steps)
        else:
            # Cartesian input stays as read (exact); only scaled input goes through the cell
            r = np.matmul(coords, cells) + origins[:, None, :] if scaled else coords
            if self.mode == IMAGES:
                r = r + np.matmul(images, cells)
            self._check_jumps(r, inv, steps)
        self._frame += k
        return r

    def _where(self, frame: int, atom: int, steps: np.ndarray | None) -> str:
        label = self.labels[atom] if self.labels is not None else atom
        step = f" (step {int(steps[frame - self._frame])})" if steps is not None and frame >= self._frame else ""
        return f"frame {frame}{step}, atom {label}"

    def _check_jumps(self, r: np.ndarray, inv: np.ndarray, steps: np.ndarray | None) -> None:
        prev = r[:1] if self._prev_r is None else self._prev_r[None]
        dr = np.diff(np.concatenate([prev, r]), axis=0)
        frac = np.abs(np.matmul(dr, inv))
        self.max_step_fraction = max(self.max_step_fraction, float(frac.max(initial=0.0)))
        if frac.size and frac.max() > MAX_JUMP_FRACTION:
            f, atom, axis = np.unravel_index(int(np.argmax(frac)), frac.shape)
            what = ("the coordinates are labelled unwrapped but jump" if self.mode == UNWRAPPED
                    else "the image-flag path jumps")
            raise ParseError(
                self.path,
                f"{self._where(self._frame + f, atom, steps)}: {what} by {np.linalg.norm(dr[f, atom]):.3g} Å, "
                f"{frac[f, atom, axis]:.2f} of the box along {_AXES[axis]}, since the previous frame (more "
                f"than half a box: wrapped coordinates, or frames too far apart). {self.fix}",
            )
        self._prev_r = r[-1].copy()

    def _minimum_image(self, s, cells, origins, steps):
        if self._prev_s is None:
            self._prev_s = s[0].copy()
            self._images = np.zeros_like(s[0])
        d = np.diff(np.concatenate([self._prev_s[None], s]), axis=0)
        shift = np.rint(d)
        reduced = np.abs(d - shift)
        self.max_step_fraction = max(self.max_step_fraction, float(reduced.max(initial=0.0)))
        if reduced.size and reduced.max() > MAX_WRAPPED_STEP_FRACTION:
            f, atom, axis = np.unravel_index(int(np.argmax(reduced)), reduced.shape)
            raise ParseError(
                self.path,
                f"{self._where(self._frame + f, atom, steps)}: moved {reduced[f, atom, axis]:.2f} of the box along "
                f"{_AXES[axis]} since the previous frame (nearest image); frames this far apart cannot be "
                f"unwrapped safely from wrapped coordinates (limit {MAX_WRAPPED_STEP_FRACTION} of a box, since a "
                f"step past one half is folded the wrong way). {self.fix or FIX_WRAPPED}",
            )
        images = self._images[None] - np.cumsum(shift, axis=0)
        self._images = images[-1].copy()
        self._prev_s = s[-1].copy()
        return np.matmul(s + images, cells) + origins[:, None, :]


FIX_UNWRAPPED = (
    "Fix: dump unwrapped coordinates from LAMMPS (dump ... custom N FILE id type xu yu zu), or x y z with "
    "image flags (id type x y z ix iy iz); if the ions really move that far, store frames more often."
)
FIX_WRAPPED = (
    "Fix: store frames more often (smaller dump interval, NBLOCK or --every), or write unwrapped coordinates "
    "(LAMMPS: xu yu zu, or x y z ix iy iz)."
)
