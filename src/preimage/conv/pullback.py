"""Pulling an affine output manifold back through a network (paper 000, §6, Fig. 4).

The preimage of ``M ∩ Rᵈ₊`` — ``M = {y : G y = g}`` an affine manifold at the last
(convolutional) layer, intersected with the orthant of its activities — is a
*piecewise-affine input manifold*: a finite union of polyhedral pieces, one per activation
pattern that reaches ``M``, on each of which the network is affine. :func:`pullback`
computes it exactly with the engine (:func:`preimage.preimage` with an
:class:`~preimage.AffineSubspace` target) and describes it as the paper does:

* each piece's dimension, and the *output intersection subspace* it maps into — the
  coordinate subspace ``{y_i = 0, i ∈ Z}`` of the outputs ``Z`` identically zero on the
  piece — with the dimension of ``M ∩ {y_Z = 0}`` (for a plane ``M`` cutting ``R³₊`` in a
  triangle: 0 at the triangle's corners on the coordinate axes, 1 on its edges, 2 inside);
* the *gluing graph*: which pieces meet, and the dimension of the face they share
  (``P_i ∩ P_j``, decided exactly by the LPs of :class:`~preimage.Polyhedron`), so that
  continuity — "linking patches that ensure the continuity of the input manifold" — can
  be read off as connectivity along faces (:meth:`PiecewiseAffineManifold.components`).

Examples: :func:`paper_fig4_network` / :func:`paper_fig4_pullback` (the paper's 3-node,
3-layer circulant network and a plane cutting a triangle) and
:func:`random_pullback_example` (a random 3-input ReLU network).
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
from ..errors import AmbiguousGeometryError, InvalidInputError
from ..polyhedra import Box, Piece, Polyhedron

__all__ = [
    "ManifoldPiece",
    "Gluing",
    "PiecewiseAffineManifold",
    "pullback",
    "paper_fig4_network",
    "paper_fig4_pullback",
    "random_pullback_example",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, eq=False)
class ManifoldPiece:
    """One affine piece of the pulled-back manifold.

    Attributes
    ----------
    piece : the engine's :class:`~preimage.Piece` (polyhedron, activation pattern, and the
        affine map ``x ↦ h_layer`` on it).
    dim : the piece's dimension.
    zero_outputs : outputs identically zero on the piece: it maps into the intersection
        subspace ``{y_i = 0, i ∈ zero_outputs}``.
    output_subspace_dim : ``width − |zero_outputs|``.
    target_dim : dimension of ``M ∩ {y_i = 0, i ∈ zero_outputs}`` (the part of ``M`` the
        piece is spread over: 0 a point, 1 a line, …).
    image_dim : dimension of the piece's image (rank of the map on the piece's affine hull).
    point : a relative-interior point of the piece.
    """

    piece: Piece
    dim: int
    zero_outputs: tuple[int, ...]
    output_subspace_dim: int
    target_dim: int
    image_dim: int
    point: np.ndarray

    @property
    def polyhedron(self) -> Polyhedron:
        return self.piece.polyhedron

    @property
    def pattern(self) -> np.ndarray:
        return self.piece.pattern

    def to_dict(self) -> dict[str, Any]:
        return {
            "dim": self.dim,
            "zero_outputs": list(self.zero_outputs),
            "output_subspace_dim": self.output_subspace_dim,
            "target_dim": self.target_dim,
            "image_dim": self.image_dim,
            "point": self.point.tolist(),
            "pattern": None if self.pattern is None else self.pattern.astype(int).tolist(),
        }


@dataclass(frozen=True, slots=True, eq=False)
class Gluing:
    """Pieces ``i < j`` meet: ``P_i ∩ P_j`` is a non-empty face of dimension ``dim``.

    ``dim`` is ``None`` when the dimension of the contact is too close to call (the
    intersection is thinner than ``tolerances.INTERIOR`` without an implicit equality);
    ``point`` lies in the shared face (in its relative interior when ``dim`` is known).
    """

    i: int
    j: int
    dim: int | None
    point: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {"i": self.i, "j": self.j, "dim": self.dim, "point": self.point.tolist()}


@dataclass(frozen=True, slots=True, eq=False)
class PiecewiseAffineManifold:
    """The preimage of ``M ∩ (orthant)`` at layer ``layer``, as glued affine pieces.

    Attributes
    ----------
    G, g : ``M = {y : G y = g}``.
    layer : the layer of ``M``.
    pieces : the :class:`ManifoldPiece` s.
    gluings : the :class:`Gluing` s (every pair of pieces that meet).
    complete : ``False`` when a budget stopped the engine (then pieces may be missing).
    stopped_by : the budget that stopped it, or ``None``.
    stats : the engine's counters.
    seconds : time taken (engine and analysis).

    Examples
    --------
    >>> man = paper_fig4_pullback()
    >>> man.complete, man.dim, man.is_connected()
    (True, 2, True)
    >>> sorted(man.by_target_dim())
    [0, 1, 2]
    """

    G: np.ndarray
    g: np.ndarray
    layer: int
    pieces: tuple[ManifoldPiece, ...]
    gluings: tuple[Gluing, ...]
    complete: bool
    stopped_by: str | None
    stats: dict
    seconds: float

    def __len__(self) -> int:
        return len(self.pieces)

    def __iter__(self):
        return iter(self.pieces)

    def __getitem__(self, i: int) -> ManifoldPiece:
        return self.pieces[i]

    def __repr__(self) -> str:
        state = "complete" if self.complete else f"INCOMPLETE ({self.stopped_by})"
        return (f"PiecewiseAffineManifold({len(self.pieces)} pieces of dimension <= {self.dim}, "
                f"{len(self.gluings)} gluings, {state})")

    @property
    def dim(self) -> int:
        """The largest piece dimension (``-1`` when there are no pieces)."""
        return max((p.dim for p in self.pieces), default=-1)

    @property
    def ambient_dim(self) -> int:
        return int(self.pieces[0].polyhedron.ambient_dim) if self.pieces else -1

    def contains(self, X, tol: float | None = None) -> np.ndarray | bool:
        """Whether each point lies on the manifold (in some piece, within ``tol``)."""
        from ..polyhedra import PolyhedralSet

        if not self.pieces:
            pts = np.atleast_2d(np.asarray(X, dtype=np.float64))
            out = np.zeros(pts.shape[0], dtype=bool)
            return bool(out[0]) if np.ndim(X) == 1 else out
        return PolyhedralSet([p.piece for p in self.pieces]).contains(X, tol)

    def by_target_dim(self) -> dict[int, tuple[int, ...]]:
        """Piece indices grouped by the dimension of the part of ``M`` they map onto."""
        out: dict[int, list[int]] = {}
        for i, p in enumerate(self.pieces):
            out.setdefault(p.target_dim, []).append(i)
        return {k: tuple(v) for k, v in sorted(out.items())}

    def by_zero_outputs(self) -> dict[tuple[int, ...], tuple[int, ...]]:
        """Piece indices grouped by the output intersection subspace they map into."""
        out: dict[tuple[int, ...], list[int]] = {}
        for i, p in enumerate(self.pieces):
            out.setdefault(p.zero_outputs, []).append(i)
        return {k: tuple(v) for k, v in sorted(out.items())}

    def neighbours(self, i: int) -> dict[int, int | None]:
        """The pieces glued to piece ``i``, with the dimension of the shared face."""
        out: dict[int, int | None] = {}
        for gl in self.gluings:
            if gl.i == i:
                out[gl.j] = gl.dim
            elif gl.j == i:
                out[gl.i] = gl.dim
        return out

    def components(self, min_face_dim: int | None = None) -> tuple[tuple[int, ...], ...]:
        """Connected components of the pieces, glued along faces of dimension ``>= min_face_dim``.

        The default ``min_face_dim = dim − 1`` links pieces only across common facets (the
        continuity of a ``dim``-manifold); ``0`` counts any contact. Gluings of undecided
        dimension never link.
        """
        k = self.dim - 1 if min_face_dim is None else int(min_face_dim)
        parent = list(range(len(self.pieces)))

        def find(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for gl in self.gluings:
            if gl.dim is not None and gl.dim >= k:
                ra, rb = find(gl.i), find(gl.j)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
        groups: dict[int, list[int]] = {}
        for i in range(len(self.pieces)):
            groups.setdefault(find(i), []).append(i)
        return tuple(sorted((tuple(v) for v in groups.values()), key=lambda c: c[0]))

    def is_connected(self, min_face_dim: int | None = None) -> bool:
        """Whether the pieces form one component (see :meth:`components`)."""
        return len(self.components(min_face_dim)) <= 1

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "G": self.G.tolist(),
            "g": self.g.tolist(),
            "layer": self.layer,
            "complete": self.complete,
            "stopped_by": self.stopped_by,
            "dim": self.dim,
            "n_pieces": len(self.pieces),
            "by_target_dim": {str(k): list(v) for k, v in self.by_target_dim().items()},
            "components": [list(c) for c in self.components()],
            "stats": dict(self.stats),
            "seconds": self.seconds,
            "pieces": [p.to_dict() for p in self.pieces],
            "gluings": [gl.to_dict() for gl in self.gluings],
        }


def _describe_piece(piece: Piece, G: np.ndarray, relu: bool) -> ManifoldPiece:
    P = piece.polyhedron
    hull = P.affine_hull()
    p, B = hull.point, hull.basis
    amap = piece.affine_map
    assert amap is not None
    h = amap(p)
    MB = amap.M @ B
    tol_h = tolerances.ACTIVITY_ABSOLUTE + tolerances.ACTIVITY_RELATIVE * float(np.abs(h).max(initial=0.0))
    if relu:
        # h_i >= 0 on the piece: vanishing at a relative-interior point means vanishing on all of it
        zero = np.abs(h) <= tol_h
    else:
        scale = 1.0 + float(np.abs(amap.M).max(initial=0.0))
        zero = (np.abs(h) <= tol_h) & np.all(np.abs(MB) <= tolerances.ACTIVITY_RELATIVE * scale, axis=1)
    live = np.flatnonzero(~zero)
    width = G.shape[1]
    target_dim = int(live.size) - decide_rank(G[:, live], "G on the non-zero outputs",
                                              scale=float(np.linalg.norm(G, 2)))
    return ManifoldPiece(
        piece=piece,
        dim=hull.dim,
        zero_outputs=tuple(int(i) for i in np.flatnonzero(zero)),
        output_subspace_dim=int(width - np.count_nonzero(zero)),
        target_dim=target_dim,
        image_dim=decide_rank(MB, "the piece's affine map on its hull", scale=float(np.linalg.norm(amap.M, 2))),
        point=readonly(p.copy()),
    )


def _bounding_boxes(pieces: list[ManifoldPiece]) -> tuple[np.ndarray, np.ndarray]:
    """Per piece, the bounding box of its vertices where they are known (input coordinates),
    else of its polyhedron (2n LPs)."""
    lo, hi = [], []
    for mp in pieces:
        V = mp.piece.kept_vertices
        if V is not None and V.shape[0]:
            lo.append(V.min(axis=0))
            hi.append(V.max(axis=0))
        else:
            bb = mp.polyhedron.bounding_box()
            lo.append(bb.lo)
            hi.append(bb.hi)
    if not pieces:
        return np.zeros((0, 0)), np.zeros((0, 0))
    return np.array(lo), np.array(hi)


def _gluings(pieces: list[ManifoldPiece], lo: np.ndarray, hi: np.ndarray) -> list[Gluing]:
    out = []
    pad = tolerances.CONTAINS
    for i in range(len(pieces)):
        overlap = np.all((lo[i + 1:] <= hi[i] + pad) & (hi[i + 1:] >= lo[i] - pad), axis=1)
        for j in np.flatnonzero(overlap) + i + 1:
            Q = pieces[i].polyhedron.intersect(pieces[int(j)].polyhedron)
            if Q.is_empty():
                continue
            try:
                hull = Q.affine_hull()
                dim: int | None = hull.dim
                point = hull.point
            except (AmbiguousGeometryError, InvalidInputError) as exc:  # too thin / empty at the tolerance
                log.debug("pieces %d and %d: contact dimension undecided: %s", i, j, exc)
                dim, point = None, Q.chebyshev_center()[0]
            out.append(Gluing(i, int(j), dim, readonly(np.array(point, dtype=np.float64))))
    return out


def pullback(net, G, g, domain, *, layer: int | None = None, time_limit: float | None = None,
             max_pieces: int | None = None) -> PiecewiseAffineManifold:
    """The preimage of ``M = {y : G y = g}`` at ``layer`` (intersected with the orthant after a
    ReLU) inside ``domain``, as a glued piecewise-affine manifold.

    Parameters
    ----------
    net : preimage.Network
    G : (r, width) array_like
    g : (r,) array_like
    domain : a bounded Box or Polyhedron (as for :func:`preimage.preimage`).
    layer : the layer of ``M`` (default: the last).
    time_limit, max_pieces : budgets passed to the engine; when one runs out the result is
        marked ``complete=False`` and holds the pieces found.

    Returns
    -------
    PiecewiseAffineManifold

    Notes
    -----
    Every pair of pieces whose bounding boxes touch costs an emptiness LP and, when they
    meet, an affine-hull computation; pieces' dimensions cost an affine hull each. Meant for
    the low-dimensional inputs where the manifold can be looked at (the engine itself scales
    further).

    Examples
    --------
    >>> import numpy as np, preimage
    >>> net = preimage.Network.from_arrays([(np.eye(2), [-0.5, -0.5], True)])
    >>> man = pullback(net, [[1.0, 1.0]], [0.25], preimage.Box([0.0, 0.0], [1.0, 1.0]))
    >>> [(p.dim, p.zero_outputs, p.target_dim) for p in man]
    [(1, (0,), 0), (1, (1,), 0), (1, (), 1)]
    >>> [(gl.i, gl.j, gl.dim) for gl in man.gluings], man.is_connected()
    ([(0, 2, 0), (1, 2, 0)], True)
    """
    from ..engine.api import preimage
    from ..engine.targets import AffineSubspace
    from ..network import Network

    t0 = time.perf_counter()
    if not isinstance(net, Network):
        raise InvalidInputError(f"net must be a preimage.Network, got {type(net).__name__}")
    k = net.depth if layer is None else net._check_layer(layer, allow_input=False)
    width = net.layers[k - 1].out_dim
    Gm = as_matrix("G", G, cols=width)
    gv = as_vector("g", g, length=Gm.shape[0])
    # on low-dimensional domains the engine's vertex backend keeps every piece's vertices
    # (cheap bounding boxes for the gluing graph)
    res = preimage(net, AffineSubspace(Gm, gv), layer=k, domain=domain, time_limit=time_limit,
                   max_pieces=max_pieces)
    relu = net.layers[k - 1].relu
    pieces = [_describe_piece(pc, Gm, relu) for pc in res.set]
    lo, hi = _bounding_boxes(pieces)
    gluings = _gluings(pieces, lo, hi)
    out = PiecewiseAffineManifold(
        G=readonly(Gm), g=readonly(gv), layer=k, pieces=tuple(pieces), gluings=tuple(gluings),
        complete=res.complete, stopped_by=res.stopped_by, stats=res.stats.as_dict(),
        seconds=time.perf_counter() - t0,
    )
    log.debug("%r in %.3f s", out, out.seconds)
    return out


#: The paper's Fig. 4 network: three circulant layers on 3 nodes, ``(kernel, bias)`` each.
#: Every off-diagonal tap is negative and every bias non-positive, so each layer's cone is
#: completely nested in the orthant (nesting radius ∞); the kernels differ, so that each
#: layer rotates its cone differently.
PAPER_FIG4_LAYERS: tuple[tuple[tuple[float, float, float], float], ...] = (
    ((1.0, -0.2, -0.1), -0.05),
    ((1.0, -0.1, -0.25), -0.05),
    ((1.0, -0.15, -0.2), -0.05),
)


def paper_fig4_network():
    """The 3-node, 3-layer circulant ReLU network of Fig. 4 (every layer a ReLU layer).

    Examples
    --------
    >>> net = paper_fig4_network()
    >>> net.widths, [lay.relu for lay in net.layers]
    ((3, 3, 3, 3), [True, True, True])
    """
    from ..network import Network
    from .circulant import circulant

    specs = []
    for kernel, bias in PAPER_FIG4_LAYERS:
        layer = circulant(kernel, 3, bias=bias)
        specs.append((np.array(layer.dense()), np.full(3, layer.bias), True))
    return Network.from_arrays(specs, name="paper 000, Fig. 4")


def paper_fig4_pullback(c: float = 0.5, radius: float = 1.0) -> PiecewiseAffineManifold:
    """Fig. 4: the input manifold mapped onto the triangle ``{y1 + y2 + y3 = c} ∩ R³₊``.

    ``M`` is the plane ``y1 + y2 + y3 = c`` at the last layer of :func:`paper_fig4_network`;
    it cuts the orthant in a triangle with corners ``c·e_i`` on the coordinate axes. The
    input box is ``[0, radius]³``. Pieces mapping to the corners (two zero outputs) are the
    paper's red patches, those mapping to the edges (one zero output) its blue patches, and
    those mapping to the inside of the triangle the linking patches.
    """
    return pullback(paper_fig4_network(), np.ones((1, 3)), [float(c)], Box(np.zeros(3), np.full(3, float(radius))))


def random_pullback_example(seed: int = 0, widths=(3, 6, 5, 3), c: float | None = None) -> PiecewiseAffineManifold:
    """A general network: a random ReLU network on ``[−1, 1]³`` and the plane ``Σ y = c``.

    Weights are standard normal, biases ``0.3·`` standard normal, every layer a ReLU layer;
    ``c`` defaults to the median of ``Σ y`` over 4096 seeded uniform samples of the box.

    Examples
    --------
    >>> man = random_pullback_example(0)
    >>> man.complete, man.dim
    (True, 2)
    """
    from ..network import Network

    rng = np.random.default_rng(seed)
    if len(widths) < 2 or widths[0] != 3:
        raise InvalidInputError(f"widths must start with the 3 inputs and name at least one layer, got {widths!r}")
    specs = [(rng.normal(size=(widths[i + 1], widths[i])), 0.3 * rng.normal(size=widths[i + 1]), True)
             for i in range(len(widths) - 1)]
    net = Network.from_arrays(specs, name=f"random ReLU network (seed {seed})")
    box = Box(-np.ones(3), np.ones(3))
    if c is None:
        X = rng.uniform(-1.0, 1.0, size=(4096, 3))
        c = float(np.median(net.forward(X).sum(axis=1)))
    return pullback(net, np.ones((1, widths[-1])), [float(c)], box)
