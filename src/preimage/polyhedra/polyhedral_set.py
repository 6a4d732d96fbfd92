"""Finite unions of polyhedra ("pieces"), each optionally tagged with an activation
pattern and the affine map of the network on it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from .. import tolerances
from .._validation import as_matrix, as_points, as_vector, readonly
from ..errors import InvalidInputError
from .box import Box
from .polyhedron import Polyhedron

if TYPE_CHECKING:  # pragma: no cover - annotations only (Sphinx then shows them as written)
    from numpy.typing import ArrayLike, NDArray

__all__ = ["AffineMap", "Piece", "PolyhedralSet"]


@dataclass(frozen=True, slots=True, eq=False)
class AffineMap:
    """The affine map ``x ↦ M x + c``.

    >>> f = AffineMap([[1.0, 2.0]], [3.0])
    >>> f([[1.0, 1.0]]).tolist()
    [[6.0]]
    """

    M: NDArray[np.float64]
    c: NDArray[np.float64]

    def __init__(self, M: ArrayLike, c: ArrayLike) -> None:
        M_arr = as_matrix("M", M)
        object.__setattr__(self, "M", readonly(M_arr))
        object.__setattr__(self, "c", readonly(as_vector("c", c, length=M_arr.shape[0])))

    @classmethod
    def _trusted(cls, M: NDArray[np.float64], c: NDArray[np.float64]) -> AffineMap:
        """Build from float64 arrays already checked (internal fast path)."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "M", readonly(M))
        object.__setattr__(obj, "c", readonly(c))
        return obj

    @classmethod
    def _from_views(cls, M: NDArray[np.float64], c: NDArray[np.float64]) -> AffineMap:
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

    def __call__(self, X: ArrayLike) -> NDArray[np.float64]:
        pts, single = as_points("X", X, self.in_dim)
        out = pts @ self.M.T + self.c
        return out[0] if single else out

    def to_dict(self) -> dict[str, Any]:
        return {"M": self.M.tolist(), "c": self.c.tolist()}


def _as_pattern(pattern: ArrayLike) -> np.ndarray:
    """A read-only flat activation pattern: boolean when given booleans (units with two
    branches: ``True`` = branch 1), ``int8`` branch indices when given integers."""
    arr = np.asarray(pattern)
    if arr.dtype == np.bool_ or (arr.size == 0 and arr.dtype.kind not in "iu"):
        return readonly(np.array(arr, dtype=bool).reshape(-1))
    if arr.dtype.kind not in "iu":
        raise InvalidInputError(f"a pattern must hold booleans or integer branch indices, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() > np.iinfo(np.int8).max):
        raise InvalidInputError(
            f"branch indices of a pattern must lie in 0..127, got {int(arr.min())}..{int(arr.max())}")
    return readonly(np.array(arr, dtype=np.int8).reshape(-1))


@dataclass(frozen=True, slots=True, eq=False)
class Piece:
    """One polyhedral piece of a :class:`PolyhedralSet`.

    ``pattern`` is the activation pattern on the piece: the branch of every unit, layer after
    layer — booleans for networks whose units have at most two branches (ReLU: ``True`` =
    active, ``z > 0``), ``int8`` branch indices otherwise (see
    :meth:`preimage.Network.activation_pattern`); ``affine_map`` the network's value at the
    target layer as an affine function of the input on this piece. Both are optional.

    ``kept_vertices`` are the piece's vertices when they are known — given when the piece
    was built, or enumerated once by :meth:`vertices` — as a read-only ``(k, n)`` array in
    the coordinates of ``polyhedron`` (input coordinates; slice coordinates for a
    :class:`~preimage.Slice` domain), else ``None`` (the engine keeps no vertices: a piece
    is rebuilt from its pattern, and its vertices enumerated when asked for).
    """

    polyhedron: Polyhedron
    pattern: NDArray[Any] | None = None
    affine_map: AffineMap | None = None
    kept_vertices: NDArray[np.float64] | None = field(default=None, repr=False)

    def __init__(
        self,
        polyhedron: Polyhedron | Box,
        pattern: ArrayLike | None = None,
        affine_map: AffineMap | Sequence[ArrayLike] | None = None,
        kept_vertices: ArrayLike | None = None,
    ) -> None:
        if isinstance(polyhedron, Box):
            polyhedron = polyhedron.as_polyhedron()
        if not isinstance(polyhedron, Polyhedron):
            raise InvalidInputError(f"a piece needs a Polyhedron, got {type(polyhedron).__name__}")
        object.__setattr__(self, "polyhedron", polyhedron)
        pat = None
        if pattern is not None:
            pat = _as_pattern(pattern)
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
    def _trusted(cls, polyhedron: Polyhedron, pattern: ArrayLike | None, affine_map: AffineMap | None,
                 kept_vertices: NDArray[np.float64] | None = None) -> Piece:
        """Build from checked parts (internal fast path)."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "polyhedron", polyhedron)
        if pattern is not None:
            pattern = np.asarray(pattern)
            pattern = readonly(pattern.astype(np.int8 if pattern.dtype.kind in "iu" else bool, copy=False))
        object.__setattr__(obj, "pattern", pattern)
        object.__setattr__(obj, "affine_map", affine_map)
        object.__setattr__(obj, "kept_vertices", None if kept_vertices is None else readonly(kept_vertices))
        return obj

    @classmethod
    def _from_views(
        cls, polyhedron: Polyhedron, pattern: NDArray[Any] | None, affine_map: AffineMap | None,
        kept_vertices: NDArray[np.float64] | None = None,
    ) -> Piece:
        """:meth:`_trusted` for a pattern (boolean or ``int8``) and vertices that are already
        read-only arrays."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "polyhedron", polyhedron)
        object.__setattr__(obj, "pattern", pattern)
        object.__setattr__(obj, "affine_map", affine_map)
        object.__setattr__(obj, "kept_vertices", kept_vertices)
        return obj

    def vertices(self) -> NDArray[np.float64]:
        """The piece's vertices, a read-only ``(k, n)`` array in the coordinates of
        ``polyhedron`` (input coordinates): :attr:`kept_vertices` when known, else
        :meth:`Polyhedron.vertices` (vertex enumeration by pycddlib; meant for small pieces),
        kept for the next call."""
        V = self.kept_vertices
        if V is None or V.flags.writeable:  # (an unpickled array comes back writable)
            V = readonly(np.array(self.polyhedron.vertices() if V is None else V, dtype=np.float64))
            object.__setattr__(self, "kept_vertices", V)
        return V

    def __getattr__(self, name: str) -> Any:
        if name == "kept_vertices":  # a piece unpickled from before the slot existed
            return None
        # geometry questions go to the polyhedron (contains, sample, dim, is_empty, ...)
        return getattr(object.__getattribute__(self, "polyhedron"), name)

    def to_dict(self) -> dict[str, Any]:
        out = self.polyhedron.to_dict()
        if self.pattern is not None:
            out["pattern"] = self.pattern.astype(int).tolist()
            if self.pattern.dtype != np.bool_:
                out["pattern_dtype"] = "int8"  # branch indices (without it: booleans as 0/1)
        if self.affine_map is not None:
            out["affine_map"] = self.affine_map.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Piece:
        amap = data.get("affine_map")
        pattern = data.get("pattern")
        if pattern is not None:
            pattern = np.asarray(pattern, dtype=np.int64 if data.get("pattern_dtype") == "int8" else bool)
        return cls(
            Polyhedron.from_dict(data),
            pattern,
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

    def __init__(self, pieces: Iterable[Piece | Polyhedron | Box] = (), ambient_dim: int | None = None) -> None:
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

    def contains(self, X: ArrayLike, tol: float | None = None) -> NDArray[np.bool_] | bool:
        """Whether each point lies in some piece (within ``tol``)."""
        idx = self.locate(X, tol)
        return (idx >= 0) if isinstance(idx, np.ndarray) else idx >= 0

    def locate(self, X: ArrayLike, tol: float | None = None) -> NDArray[np.int64] | int:
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

    # the return type follows ``return_index``: the points, or the points and their piece indices
    @overload
    def sample(
        self, n: int, seed: int | None = None, *, return_index: Literal[False] = False
    ) -> NDArray[np.float64]: ...
    @overload
    def sample(
        self, n: int, seed: int | None = None, *, return_index: Literal[True]
    ) -> tuple[NDArray[np.float64], NDArray[np.int64]]: ...
    @overload
    def sample(
        self, n: int, seed: int | None = None, *, return_index: bool
    ) -> NDArray[np.float64] | tuple[NDArray[np.float64], NDArray[np.int64]]: ...

    def sample(
        self, n: int, seed: int | None = None, *, return_index: bool = False
    ) -> NDArray[np.float64] | tuple[NDArray[np.float64], NDArray[np.int64]]:
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "preimage.PolyhedralSet",
            "version": 1,
            "ambient_dim": self.ambient_dim,
            "pieces": [p.to_dict() for p in self],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PolyhedralSet:
        try:
            return cls([Piece.from_dict(p) for p in data["pieces"]], int(data["ambient_dim"]))
        except (KeyError, TypeError) as exc:
            raise InvalidInputError(f"not a PolyhedralSet dictionary: missing {exc}") from exc

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save to ``.npz`` or ``.json`` (by suffix); see ``docs/formats.md``."""
        from .io import save

        save(self, path)
