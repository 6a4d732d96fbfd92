"""Cell maps of one layer (paper 000, §5, Fig. 3): which cell of the hyperplane arrangement
goes to which output intersection subspace, and whether dimension is non-increasing.

The layer is ``y = relu(W x + b)`` on a box ``D = [lo, hi] ⊂ Rⁿ₊`` (the input of a hidden
layer lies in the orthant). The hyperplanes ``Π_i = {w_i·x + b_i = 0}`` cut ``D`` into
*cells*, one per activation pattern; :func:`cell_map` enumerates them exactly (with
:func:`preimage.linear_regions` on the one-layer network) and describes each:

* its pattern (active rows ``A``) and the *output intersection subspace*
  ``O_A = {y : y_i = 0 for i ∉ A}`` it maps into (dimension ``|A|``);
* ``dim_in`` — the dimension of the cell — and ``dim_out`` — the dimension of its image,
  the rank of ``W_A`` restricted to the cell's affine hull (computed, not assumed);
* its *coordinate faces* ``F_S = cell ∩ {x_S = 0}``: the parts of the cell lying on the
  input's coordinate subspaces, each with its dimension, the dimension of the input
  coordinate subspace its relative-interior points lie on (``n − |S|``) and that of the
  output coordinate subspace they are mapped to (the number of outputs not identically
  zero on ``F_S``).

**Contraction, made precise.** A point lies on the coordinate subspace spanned by its
non-zero coordinates; the paper's property — "data gets contracted": the cell, *including
its bounding faces and their intersections*, goes to output subspaces "with equal or lower
dimension" — is, per point, ``nnz(relu(W x + b)) <= nnz(x)``. Because every ``x_j >= 0``
and every active ``w_i·x + b_i >= 0`` on the closed cell, the maximum of ``nnz(y)`` over the
points ``x`` of a face ``F_S`` with zero set exactly ``S`` is attained in its relative
interior, and every point of the cell lies in the relative interior of the face of its own
zero set. So the property holds on the whole closed cell **iff** it holds on the relative
interior of every coordinate face — which is what :attr:`Cell.contracts` checks, exactly,
from the cell's vertices (a face of a polytope is the convex hull of its vertices on it).
For a square ``W`` the stronger *zero preservation* ``x_j = 0 ⇒ y_j = 0`` (the operational
nesting of :func:`~preimage.conv.nesting_radius`) is checked the same way
(:attr:`Cell.zeros_preserved`); on ``[0, R]^d`` it holds for every cell iff ``R`` is at most
the nesting radius.

Examples: :func:`paper_fig3_identity` (``W = I``, bias only: every cell contracts) and
:func:`paper_fig3_wide_cone` (a circulant whose wider cone cuts the coordinate axes:
contraction fails beyond the intersections).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import tolerances
from .._rank import decide_rank
from .._validation import as_matrix, as_vector, readonly
from ..errors import InvalidInputError
from ..polyhedra import Box, Polyhedron

__all__ = [
    "CoordinateFace",
    "Cell",
    "CellMap",
    "cell_map",
    "paper_fig3_identity",
    "paper_fig3_wide_cone",
    "MAX_CELL_MAP_DIM",
]

log = logging.getLogger(__name__)

#: Largest input dimension for :func:`cell_map`: the cells are enumerated by the engine's
#: vertex backend, whose vertices give the coordinate faces (a size limit, not a tolerance).
MAX_CELL_MAP_DIM: int = 10


@dataclass(frozen=True, slots=True, eq=False)
class CoordinateFace:
    """The part ``F_S = cell ∩ {x_S = 0}`` of a cell on an input coordinate subspace.

    ``S`` is *closed*: it is exactly the set of coordinates that vanish on all of ``F_S``,
    so the relative-interior points of ``F_S`` have zero set ``S``. ``S = ∅`` (when the cell
    leaves every coordinate hyperplane) is the cell itself.

    Attributes
    ----------
    zero_inputs : ``S``, the input coordinates identically zero on the face.
    dim : the face's dimension.
    in_subspace_dim : ``n − |S|``: the coordinate subspace its relative-interior points lie on.
    zero_outputs : the outputs identically zero on the face (inactive rows, and active rows
        whose ``w_i·x + b_i`` vanishes on all of it).
    out_subspace_dim : ``m − |zero_outputs|``: the output coordinate subspace the face's
        relative-interior points are mapped to.
    point : a relative-interior point (the mean of the face's vertices).
    """

    zero_inputs: tuple[int, ...]
    dim: int
    in_subspace_dim: int
    zero_outputs: tuple[int, ...]
    out_subspace_dim: int
    point: np.ndarray

    @property
    def contracts(self) -> bool:
        """``out_subspace_dim <= in_subspace_dim`` (dimension is non-increasing)."""
        return self.out_subspace_dim <= self.in_subspace_dim

    @property
    def zeros_preserved(self) -> bool:
        """``S ⊆ zero_outputs``: every zero input coordinate stays a zero output (square ``W``)."""
        return set(self.zero_inputs) <= set(self.zero_outputs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "zero_inputs": list(self.zero_inputs),
            "dim": self.dim,
            "in_subspace_dim": self.in_subspace_dim,
            "zero_outputs": list(self.zero_outputs),
            "out_subspace_dim": self.out_subspace_dim,
            "contracts": self.contracts,
            "point": self.point.tolist(),
        }


@dataclass(frozen=True, slots=True, eq=False)
class Cell:
    """One cell of the arrangement inside the box, and where the layer sends it.

    Attributes
    ----------
    pattern : (m,) bool — active rows ``A`` (``w_i·x + b_i >= 0`` on the cell).
    polyhedron : the closed cell (exact H-representation: box and the layer's own rows).
    vertices : (k, n) — its vertices.
    dim_in : the cell's dimension.
    dim_out : the dimension of its image: ``rank`` of ``W_A`` on the cell's affine hull.
    zero_outputs : rows not in ``A``: the output intersection subspace is
        ``{y : y_i = 0, i ∈ zero_outputs}``.
    output_subspace_dim : ``|A|``, the dimension of that subspace.
    input_subspace_dim : ``n`` minus the coordinates identically zero on the cell.
    faces : its :class:`CoordinateFace` s (the cell itself first), by decreasing
        ``in_subspace_dim``.
    square : whether ``W`` is square (input coordinate ``j`` ↔ output ``j``).
    """

    pattern: np.ndarray
    polyhedron: Polyhedron
    vertices: np.ndarray
    dim_in: int
    dim_out: int
    zero_outputs: tuple[int, ...]
    output_subspace_dim: int
    input_subspace_dim: int
    faces: tuple[CoordinateFace, ...]
    square: bool

    @property
    def active(self) -> tuple[int, ...]:
        return tuple(int(i) for i in np.flatnonzero(self.pattern))

    @property
    def n_negative(self) -> int:
        """Number of negative constraints (inactive rows), as in the paper's Fig. 3."""
        return len(self.zero_outputs)

    @property
    def contracts(self) -> bool:
        """``nnz(y) <= nnz(x)`` at every point of the closed cell (see the module notes)."""
        return all(f.contracts for f in self.faces)

    @property
    def zeros_preserved(self) -> bool | None:
        """``x_j = 0 ⇒ y_j = 0`` on the closed cell (``None`` when ``W`` is not square)."""
        if not self.square:
            return None
        return all(f.zeros_preserved for f in self.faces)

    @property
    def failing_faces(self) -> tuple[CoordinateFace, ...]:
        """The coordinate faces on which dimension increases."""
        return tuple(f for f in self.faces if not f.contracts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern.astype(int).tolist(),
            "dim_in": self.dim_in,
            "dim_out": self.dim_out,
            "zero_outputs": list(self.zero_outputs),
            "output_subspace_dim": self.output_subspace_dim,
            "input_subspace_dim": self.input_subspace_dim,
            "contracts": self.contracts,
            "zeros_preserved": self.zeros_preserved,
            "faces": [f.to_dict() for f in self.faces],
        }


@dataclass(frozen=True, slots=True, eq=False)
class CellMap:
    """Every cell of the layer's arrangement inside the box (:func:`cell_map`).

    Attributes
    ----------
    weight : (m, n) read-only.
    bias : (m,) read-only.
    domain : the box.
    cells : the :class:`Cell` s, in the engine's canonical order.
    seconds : time taken.

    Examples
    --------
    >>> cm = paper_fig3_identity()
    >>> len(cm), cm.contracts, sorted(cm.output_dims().items())
    (8, True, [(0, 1), (1, 3), (2, 3), (3, 1)])
    """

    weight: np.ndarray
    bias: np.ndarray
    domain: Box
    cells: tuple[Cell, ...]
    seconds: float

    def __len__(self) -> int:
        return len(self.cells)

    def __iter__(self):
        return iter(self.cells)

    def __getitem__(self, i: int) -> Cell:
        return self.cells[i]

    def __repr__(self) -> str:
        m, n = self.weight.shape
        return f"CellMap({len(self.cells)} cells of {m} hyperplanes in R^{n}, contracts={self.contracts})"

    @property
    def contracts(self) -> bool:
        """Dimension is non-increasing on every cell (the paper's contraction property)."""
        return all(c.contracts for c in self.cells)

    @property
    def zeros_preserved(self) -> bool | None:
        """Zero preservation on every cell (``None`` when ``W`` is not square)."""
        if self.weight.shape[0] != self.weight.shape[1]:
            return None
        return all(bool(c.zeros_preserved) for c in self.cells)

    @property
    def failing_cells(self) -> tuple[int, ...]:
        """Indices of the cells on which dimension increases somewhere."""
        return tuple(i for i, c in enumerate(self.cells) if not c.contracts)

    def output_dims(self) -> dict[int, int]:
        """How many cells map into an output intersection subspace of each dimension."""
        out: dict[int, int] = {}
        for c in self.cells:
            out[c.output_subspace_dim] = out.get(c.output_subspace_dim, 0) + 1
        return out

    def locate(self, X) -> np.ndarray:
        """Index of the cell of each point (by its activation pattern; ``-1`` outside the box)."""
        pts = np.atleast_2d(np.asarray(X, dtype=np.float64))
        pats = (pts @ self.weight.T + self.bias) > 0
        keys = {c.pattern.tobytes(): i for i, c in enumerate(self.cells)}
        inside = self.domain.contains(pts)
        return np.array([keys.get(p.tobytes(), -1) if ok else -1 for p, ok in zip(pats, inside)], dtype=np.int64)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "weight": self.weight.tolist(),
            "bias": self.bias.tolist(),
            "domain": {"lo": self.domain.lo.tolist(), "hi": self.domain.hi.tolist()},
            "n_cells": len(self.cells),
            "contracts": self.contracts,
            "zeros_preserved": self.zeros_preserved,
            "failing_cells": list(self.failing_cells),
            "output_dims": {str(k): v for k, v in sorted(self.output_dims().items())},
            "seconds": self.seconds,
            "cells": [c.to_dict() for c in self.cells],
        }


def _affine_rank(V: np.ndarray, tol: float) -> int:
    """Dimension of the affine hull of the rows of ``V`` (``-1`` for none)."""
    if V.shape[0] == 0:
        return -1
    if V.shape[0] == 1:
        return 0
    s = np.linalg.svd(V[1:] - V[0], compute_uv=False)
    return int(np.sum(s > tol * max(float(np.abs(V).max()), 1.0)))


def _hull_basis(V: np.ndarray, tol: float) -> np.ndarray:
    """Orthonormal basis (columns) of the direction space of the affine hull of ``V``."""
    if V.shape[0] <= 1:
        return np.zeros((V.shape[1], 0))
    _, s, vt = np.linalg.svd(V[1:] - V[0], full_matrices=False)
    r = int(np.sum(s > tol * max(float(np.abs(V).max()), 1.0)))
    return vt[:r].T


def _closed_sets(masks: np.ndarray) -> list[int]:
    """The intersections of every non-empty subfamily of ``masks`` (bitmasks), deduplicated."""
    closed: set[int] = set()
    for m in {int(v) for v in masks}:
        new = {m}
        new.update(c & m for c in closed)
        closed |= new
    return sorted(closed, key=lambda s: (bin(s).count("1"), s))


def _bits(mask: int, n: int) -> tuple[int, ...]:
    return tuple(j for j in range(n) if (mask >> j) & 1)


def _describe_cell(pattern: np.ndarray, P: Polyhedron, V: np.ndarray, W: np.ndarray, b: np.ndarray,
                   tol: float) -> Cell:
    m, n = W.shape
    scale_x = 1.0 + float(np.abs(V).max())
    Zv = V @ W.T + b
    scale_z = 1.0 + float(np.abs(Zv).max())
    zero_in = np.abs(V) <= tol * scale_x  # (k, n): vertex on {x_j = 0}
    positive = (Zv > tol * scale_z) & pattern[None, :]  # (k, m): output i > 0 at the vertex
    weights = np.left_shift(np.int64(1), np.arange(n, dtype=np.int64))
    vmask = (zero_in.astype(np.int64) * weights).sum(axis=1)
    faces = []
    for S in _closed_sets(vmask):
        sel = (vmask & S) == S
        Vf = V[sel]
        pos = np.any(positive[sel], axis=0)
        zero_out = tuple(int(i) for i in np.flatnonzero(~pos))
        zs = _bits(S, n)
        faces.append(CoordinateFace(zs, _affine_rank(Vf, tol), n - len(zs), zero_out, m - len(zero_out),
                                    readonly(Vf.mean(axis=0))))
    faces.sort(key=lambda f: (-f.in_subspace_dim, f.zero_inputs))
    active = np.flatnonzero(pattern)
    basis = _hull_basis(V, tol)
    if active.size and basis.shape[1]:
        dim_out = decide_rank(W[active] @ basis, "the active rows W_A on the cell", scale=float(np.linalg.norm(W, 2)))
    else:
        dim_out = 0
    return Cell(
        pattern=readonly(pattern.copy()),
        polyhedron=P,
        vertices=readonly(V),
        dim_in=basis.shape[1],
        dim_out=int(dim_out),
        zero_outputs=tuple(int(i) for i in np.flatnonzero(~pattern)),
        output_subspace_dim=int(active.size),
        input_subspace_dim=faces[0].in_subspace_dim,
        faces=tuple(faces),
        square=m == n,
    )


def cell_map(W, b, domain: Box, *, tol: float | None = None) -> CellMap:
    """Every cell of the arrangement of ``relu(W x + b)`` inside a box in the orthant.

    Parameters
    ----------
    W : (m, n) array_like
    b : (m,) array_like
    domain : Box
        ``[lo, hi]`` with ``lo >= 0`` (inside the orthant), of dimension at most
        :data:`MAX_CELL_MAP_DIM`.
    tol : float, optional
        Relative tolerance for "a vertex lies on ``{x_j = 0}``" / "an output is zero at a
        vertex" and for ranks of vertex sets (default ``tolerances.VERTEX_SIGN``, as the
        engine's vertex arithmetic).

    Returns
    -------
    CellMap

    Notes
    -----
    The cells come from :func:`preimage.linear_regions` on the one-layer network, which is
    exact and complete (no budget). Each cell's coordinate faces are read off its vertices;
    see the module notes for why this decides contraction exactly on the closed cell.

    Examples
    --------
    >>> import numpy as np
    >>> from preimage import Box
    >>> cm = cell_map(np.eye(2), [-0.5, -0.5], Box([0.0, 0.0], [1.0, 1.0]))
    >>> [(c.pattern.astype(int).tolist(), c.dim_in, c.dim_out) for c in cm]
    [([0, 0], 2, 0), ([0, 1], 2, 1), ([1, 0], 2, 1), ([1, 1], 2, 2)]
    >>> cm.contracts, cm.zeros_preserved
    (True, True)
    """
    from ..engine.api import linear_regions
    from ..network import Network

    t0 = time.perf_counter()
    Wm = as_matrix("W", W)
    bv = as_vector("b", b, length=Wm.shape[0])
    m, n = Wm.shape
    if not isinstance(domain, Box):
        raise InvalidInputError(f"domain must be a preimage.Box inside the orthant, got {type(domain).__name__}")
    if domain.ambient_dim != n:
        raise InvalidInputError(f"domain is a box in dimension {domain.ambient_dim}, but W has {n} columns")
    if np.any(domain.lo < 0):
        j = int(np.flatnonzero(domain.lo < 0)[0])
        raise InvalidInputError(
            f"domain must lie inside the orthant (the input of a hidden layer), but lo[{j}] = {float(domain.lo[j])} < 0"
        )
    if domain.dim > MAX_CELL_MAP_DIM or domain.dim == 0:
        raise InvalidInputError(
            f"cell_map needs a box of dimension 1 to {MAX_CELL_MAP_DIM} (its cells are enumerated by vertices), "
            f"got dimension {domain.dim}"
        )
    eps = tolerances.resolve(tol, tolerances.VERTEX_SIGN)
    net = Network.from_arrays([(Wm, bv, True)])
    res = linear_regions(net, domain, backend="vertex")
    if not res.complete:  # pragma: no cover - no budget was given
        raise InvalidInputError(f"the enumeration of cells stopped early ({res.stopped_by})")
    cells = []
    for piece in res.set:
        V = piece.vertices()  # input coordinates: those the vertex backend kept
        pattern = np.asarray(piece.pattern, dtype=bool)
        cells.append(_describe_cell(pattern, piece.polyhedron, np.array(V, dtype=np.float64), Wm, bv, eps))
    out = CellMap(readonly(Wm), readonly(bv), domain, tuple(cells), time.perf_counter() - t0)
    log.debug("%r in %.3f s", out, out.seconds)
    return out


def paper_fig3_identity(bias: float = -0.5, radius: float = 1.0) -> CellMap:
    """The cell map of Fig. 3 (left): ``d = 3``, ``W = I``, bias only, on ``[0, radius]³``.

    The planes ``x_i = −bias`` cut the cube into ``2³`` cells; a cell with ``p`` negative
    constraints maps to an output intersection subspace of dimension ``3 − p``, and so do its
    faces on the coordinate planes: with ``bias <= 0`` every cell contracts.

    Examples
    --------
    >>> cm = paper_fig3_identity()
    >>> [c.output_subspace_dim for c in cm if c.n_negative == 1], cm.contracts
    ([2, 2, 2], True)
    """
    return cell_map(np.eye(3), np.full(3, float(bias)), Box(np.zeros(3), np.full(3, float(radius))))


def paper_fig3_wide_cone(kernel=(1.0, 0.25, 0.25), bias: float = -0.5, radius: float = 3.0) -> CellMap:
    """The cell map of Fig. 3 (right): a circulant with a wider cone, on ``[0, radius]³``.

    The default kernel ``(1, ¼, ¼)`` with bias ``−½`` tilts the planes away from the identity
    line (angle ≈ 54.7° against 35.3° for ``W = I``); they now cut the coordinate axes (at
    ``x = 2``), and its nesting radius is 1. Beyond it zeros are no longer preserved, and in
    ``[0, 3]³`` some cells map points of a coordinate subspace to a *higher*-dimensional
    output subspace: contraction fails there.

    Examples
    --------
    >>> cm = paper_fig3_wide_cone()
    >>> cm.contracts, cm.zeros_preserved, len(cm.failing_cells) > 0
    (False, False, True)
    """
    from .circulant import circulant

    layer = circulant(kernel, 3, bias=bias)
    return cell_map(layer.dense(), np.full(3, layer.bias), Box(np.zeros(3), np.full(3, float(radius))))
