"""Finite unions of polyhedra ("pieces"), each optionally tagged with an activation
pattern and the affine map of the network on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from .. import tolerances
from .._validation import as_matrix, as_points, as_vector, readonly
from ..errors import InvalidInputError
from .box import Box
from .polyhedron import Polyhedron

__all__ = ["AffineMap", "Piece", "PolyhedralSet"]


@dataclass(frozen=True, slots=True, eq=False)
class AffineMap:
    """The affine map ``x ↦ M x + c``.

    >>> f = AffineMap([[1.0, 2.0]], [3.0])
    >>> f([[1.0, 1.0]]).tolist()
    [[6.0]]
    """

    M: np.ndarray
    c: np.ndarray

    def __init__(self, M, c) -> None:
        M_arr = as_matrix("M", M)
        object.__setattr__(self, "M", readonly(M_arr))
        object.__setattr__(self, "c", readonly(as_vector("c", c, length=M_arr.shape[0])))

    @classmethod
    def _trusted(cls, M: np.ndarray, c: np.ndarray) -> AffineMap:
        """Build from float64 arrays already checked (internal fast path)."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "M", readonly(M))
        object.__setattr__(obj, "c", readonly(c))
        return obj

    @classmethod
    def _from_views(cls, M: np.ndarray, c: np.ndarray) -> AffineMap:
        """:meth:`_trusted` for arrays that are already read-only."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "M", M)
        object.__setattr__(obj, "c", c)
        return obj

    @property
    def in_dim(self) -> int:
        return int(self.M.shape[1])

    @property
    def out_dim(self) -> int:
        return int(self.M.shape[0])

    def __call__(self, X) -> np.ndarray:
        pts, single = as_points("X", X, self.in_dim)
        out = pts @ self.M.T + self.c
        return out[0] if single else out

    def to_dict(self) -> dict:
        return {"M": self.M.tolist(), "c": self.c.tolist()}


@dataclass(frozen=True, slots=True, eq=False)
class Piece:
    """One polyhedral piece of a :class:`PolyhedralSet`.

    ``pattern`` is the activation pattern on the piece (one boolean per ReLU, layer after
    layer: ``True`` = active, ``z > 0``), ``affine_map`` the network's value at the target
    layer as an affine function of the input on this piece. Both are optional.

    ``kept_vertices`` are the piece's vertices when they are known without a computation —
    the engine's vertex backend keeps every region as its vertices — as a read-only
    ``(k, n)`` array in the coordinates of ``polyhedron`` (input coordinates; slice
    coordinates for a :class:`~preimage.Slice` domain), else ``None`` (the LP backend, a
    piece read from a file, a piece built by hand). :meth:`vertices` always answers: the
    kept vertices, or those of ``polyhedron`` by vertex enumeration.
    """

    polyhedron: Polyhedron
    pattern: np.ndarray | None = None
    affine_map: AffineMap | None = None
    kept_vertices: np.ndarray | None = field(default=None, repr=False)

    def __init__(self, polyhedron, pattern=None, affine_map=None, kept_vertices=None) -> None:
        if isinstance(polyhedron, Box):
            polyhedron = polyhedron.as_polyhedron()
        if not isinstance(polyhedron, Polyhedron):
            raise InvalidInputError(f"a piece needs a Polyhedron, got {type(polyhedron).__name__}")
        object.__setattr__(self, "polyhedron", polyhedron)
        pat = None
        if pattern is not None:
            pat = readonly(np.array(pattern, dtype=bool).reshape(-1))
        object.__setattr__(self, "pattern", pat)
        if affine_map is not None and not isinstance(affine_map, AffineMap):
            affine_map = AffineMap(*affine_map)
        if affine_map is not None and affine_map.in_dim != polyhedron.ambient_dim:
            raise InvalidInputError(
                f"affine_map takes inputs of dimension {affine_map.in_dim}, but the piece lives in "
                f"dimension {polyhedron.ambient_dim}"
            )
        object.__setattr__(self, "affine_map", affine_map)
        V = None
        if kept_vertices is not None:
            V = readonly(as_matrix("kept_vertices", kept_vertices, cols=polyhedron.ambient_dim))
        object.__setattr__(self, "kept_vertices", V)

    @classmethod
    def _trusted(cls, polyhedron: Polyhedron, pattern, affine_map, kept_vertices=None) -> Piece:
        """Build from checked parts (internal fast path)."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "polyhedron", polyhedron)
        object.__setattr__(obj, "pattern", None if pattern is None else readonly(np.asarray(pattern, dtype=bool)))
        object.__setattr__(obj, "affine_map", affine_map)
        object.__setattr__(obj, "kept_vertices", None if kept_vertices is None else readonly(kept_vertices))
        return obj

    @classmethod
    def _from_views(cls, polyhedron: Polyhedron, pattern: np.ndarray | None, affine_map,
                    kept_vertices: np.ndarray | None = None) -> Piece:
        """:meth:`_trusted` for a pattern (and vertices) that are already read-only arrays."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "polyhedron", polyhedron)
        object.__setattr__(obj, "pattern", pattern)
        object.__setattr__(obj, "affine_map", affine_map)
        object.__setattr__(obj, "kept_vertices", kept_vertices)
        return obj

    def vertices(self) -> np.ndarray:
        """The piece's vertices, a read-only ``(k, n)`` array in the coordinates of
        ``polyhedron`` (input coordinates): :attr:`kept_vertices` when the engine kept them,
        else :meth:`Polyhedron.vertices` (vertex enumeration by pycddlib; meant for small
        pieces). The two agree as point sets, up to the engine's vertex tolerance."""
        V = self.kept_vertices
        return V if V is not None else self.polyhedron.vertices()

    def __getattr__(self, name: str):
        if name == "kept_vertices":  # a piece unpickled from before the slot existed
            return None
        # geometry questions go to the polyhedron (contains, sample, dim, is_empty, ...)
        return getattr(object.__getattribute__(self, "polyhedron"), name)

    def to_dict(self) -> dict:
        out = self.polyhedron.to_dict()
        if self.pattern is not None:
            out["pattern"] = self.pattern.astype(int).tolist()
        if self.affine_map is not None:
            out["affine_map"] = self.affine_map.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Piece:
        amap = data.get("affine_map")
        return cls(
            Polyhedron.from_dict(data),
            data.get("pattern"),
            None if amap is None else AffineMap(amap["M"], amap["c"]),
        )


@dataclass(frozen=True, slots=True, eq=False)
class PolyhedralSet:
    """A finite union of polyhedral pieces in ``R^ambient_dim``.

    Examples
    --------
    >>> S = PolyhedralSet([Box([0.0], [1.0]), Box([2.0], [3.0])])
    >>> len(S), S.contains([[0.5], [1.5], [2.5]]).tolist()
    (2, [True, False, True])
    """

    pieces: tuple[Piece, ...]
    ambient_dim: int

    def __init__(self, pieces: Iterable = (), ambient_dim: int | None = None) -> None:
        items = tuple(p if isinstance(p, Piece) else Piece(p) for p in pieces)
        dims = {p.polyhedron.ambient_dim for p in items}
        if ambient_dim is None:
            if not dims:
                raise InvalidInputError("an empty PolyhedralSet needs ambient_dim")
            ambient_dim = dims.pop() if len(dims) == 1 else -1
        if len(dims) > 1 or (dims and next(iter(dims)) != ambient_dim) or ambient_dim < 0:
            raise InvalidInputError(
                f"all pieces must live in the same space; got dimensions {sorted(dims)} "
                f"(ambient_dim={ambient_dim})"
            )
        object.__setattr__(self, "pieces", items)
        object.__setattr__(self, "ambient_dim", int(ambient_dim))

    def __len__(self) -> int:
        return len(self.pieces)

    def __iter__(self) -> Iterator[Piece]:
        return iter(self.pieces)

    def __getitem__(self, i: int) -> Piece:
        return self.pieces[i]

    def __repr__(self) -> str:
        return f"PolyhedralSet({len(self)} pieces in R^{self.ambient_dim})"

    @property
    def polyhedra(self) -> tuple[Polyhedron, ...]:
        return tuple(p.polyhedron for p in self)

    def is_empty(self) -> bool:
        """Whether every piece is empty."""
        return all(p.polyhedron.is_empty() for p in self)

    @property
    def dim(self) -> int:
        """Largest dimension of a piece (``-1`` when empty)."""
        return max((p.polyhedron.dim for p in self), default=-1)

    def contains(self, X, tol: float | None = None) -> np.ndarray | bool:
        """Whether each point lies in some piece (within ``tol``)."""
        idx = self.locate(X, tol)
        return (idx >= 0) if isinstance(idx, np.ndarray) else idx >= 0

    def locate(self, X, tol: float | None = None) -> np.ndarray | int:
        """Index of the first piece containing each point, ``-1`` where none does."""
        tol = tolerances.resolve(tol, tolerances.CONTAINS)
        pts, single = as_points("X", X, self.ambient_dim)
        out = np.full(pts.shape[0], -1, dtype=np.int64)
        for i, piece in enumerate(self):  # (a file view reads one piece at a time)
            todo = np.flatnonzero(out < 0)
            if todo.size == 0:
                break
            hit = piece.polyhedron.contains(pts[todo], tol=tol)
            out[todo[hit]] = i
        return int(out[0]) if single else out

    def sample(self, n: int, seed: int | None = None, *, return_index: bool = False):
        """``n`` points spread evenly over the non-empty pieces (hit-and-run in each).

        Pieces get ``n // k`` points each (the first ``n % k`` one more); with
        ``return_index=True`` the piece index of each point is returned too.
        """
        n = int(n)
        if n < 0:
            raise InvalidInputError(f"n must be a non-negative number of samples, got {n}")
        live = [i for i, p in enumerate(self) if not p.polyhedron.is_empty()]
        if not live and n:
            raise InvalidInputError("cannot sample from an empty PolyhedralSet")
        rng = np.random.default_rng(seed)
        seeds = rng.integers(0, 2**63 - 1, size=len(live))
        pts, idx = [np.zeros((0, self.ambient_dim))], [np.zeros(0, dtype=np.int64)]
        k = len(live)
        for j, (i, s) in enumerate(zip(live, seeds)):
            count = n // k + (1 if j < n % k else 0)
            if count:
                pts.append(self[i].polyhedron.sample(count, seed=int(s)))
                idx.append(np.full(count, i, dtype=np.int64))
        X, I = np.vstack(pts), np.concatenate(idx)
        return (X, I) if return_index else X

    def to_dict(self) -> dict:
        return {
            "format": "preimage.PolyhedralSet",
            "version": 1,
            "ambient_dim": self.ambient_dim,
            "pieces": [p.to_dict() for p in self],
        }

    @classmethod
    def from_dict(cls, data: dict) -> PolyhedralSet:
        try:
            return cls([Piece.from_dict(p) for p in data["pieces"]], int(data["ambient_dim"]))
        except (KeyError, TypeError) as exc:
            raise InvalidInputError(f"not a PolyhedralSet dictionary: missing {exc}") from exc

    def save(self, path) -> None:
        """Save to ``.npz`` or ``.json`` (by suffix); see ``docs/formats.md``."""
        from .io import save

        save(self, path)
