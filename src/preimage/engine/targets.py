"""Targets of a preimage at layer ``k``: an activity, a polyhedron, an affine subspace, or
a union of polyhedra (an output spec).

Every target becomes a :class:`LayerTarget`: either a point activity after a ReLU (which
forces the activation pattern of layer ``k``) or a disjunction of polyhedra on ``h_k``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import as_matrix, as_vector, readonly
from ..activations import PiecewiseLinear
from ..errors import InvalidInputError
from ..polyhedra import Box, Polyhedron

if TYPE_CHECKING:  # pragma: no cover - annotations only (Sphinx then shows them as written)
    from typing import TypeAlias

    from numpy.typing import ArrayLike, NDArray

    from ..network import Network

    #: a polyhedron ``{h : A h <= b, C h = d}`` as its arrays ``(A, b, C, d)``
    System: TypeAlias = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]

__all__ = ["Activity", "AffineSubspace", "LayerTarget", "normalize_target"]


@dataclass(frozen=True, slots=True, eq=False)
class Activity:
    """The activity point ``y`` at a layer: the papers' preimage target.

    After a ReLU layer, ``y >= 0`` and ``y_i > 0`` forces neuron ``i`` active with
    ``z_i = y_i``, ``y_i = 0`` forces ``z_i <= 0``. At a linear layer ``z = y`` exactly.
    """

    y: NDArray[np.float64]

    def __init__(self, y: ArrayLike) -> None:
        object.__setattr__(self, "y", readonly(as_vector("y", y)))


@dataclass(frozen=True, slots=True, eq=False)
class AffineSubspace:
    """The affine subspace ``M = {h : G h = g}`` of a layer's space (paper 000 §6).

    After a ReLU layer the preimage is that of ``M ∩ Rⁿ₊`` (activities are non-negative).
    """

    G: NDArray[np.float64]
    g: NDArray[np.float64]

    def __init__(self, G: ArrayLike, g: ArrayLike) -> None:
        G_arr = as_matrix("G", G)
        object.__setattr__(self, "G", readonly(G_arr))
        object.__setattr__(self, "g", readonly(as_vector("g", g, length=G_arr.shape[0])))


@dataclass(frozen=True, slots=True, eq=False)
class LayerTarget:
    """The normalised target at layer ``layer`` (1-based).

    ``activity`` is set for an activity after an elementwise activation (ReLU, LeakyReLU,
    HardTanh, ...): ``force = (lo, hi, branch)`` then gives every unit's preimage interval
    ``lo_i <= z_i <= hi_i`` of its pre-activation (a point where ``lo_i = hi_i``) and the branch
    it forces. Otherwise ``polyhedra`` is a disjunction of ``(A, b, C, d)`` systems on
    ``h_layer`` (``A h <= b``, ``C h = d``).
    """

    layer: int
    width: int
    activity: NDArray[np.float64] | None
    polyhedra: tuple[System, ...]
    force: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int8]] | None = None

    @property
    def n_disjuncts(self) -> int:
        return 1 if self.activity is not None else len(self.polyhedra)


def _system(P: Polyhedron) -> System:
    return (np.asarray(P.A), np.asarray(P.b), np.asarray(P.C), np.asarray(P.d))


def normalize_target(target: Any, net: Network, layer: int | None) -> LayerTarget:
    """Check ``target`` against the network and return its :class:`LayerTarget`."""
    from ..specs.vnnlib import Spec

    k = net.depth if layer is None else net._check_layer(layer, allow_input=False)
    lay = net.layers[k - 1]
    width = lay.out_dim
    if isinstance(target, Activity):
        y = target.y
        if y.shape[0] != width:
            raise InvalidInputError(
                f"the activity has length {y.shape[0]}, but layer {k} has width {width}"
            )
        act = lay.activation
        if lay.relu:
            neg = np.flatnonzero(y < 0)
            if neg.size:
                raise InvalidInputError(
                    f"an activity after the ReLU of layer {k} must be non-negative, "
                    f"but y[{neg[0]}] = {float(y[neg[0]])}"
                )
        if isinstance(act, PiecewiseLinear) and not act.is_identity:
            # each unit's preimage {z : φ(z) = y_i}: one closed interval where φ is monotone
            lo, hi, branch = np.empty(width), np.empty(width), np.empty(width, dtype=np.int8)
            intervals = [act.preimage_interval(float(yi)) for yi in y]
            if all(iv is not None for iv in intervals):
                for i, iv in enumerate(intervals):
                    lo[i], hi[i], branch[i] = iv  # type: ignore[misc]
                return LayerTarget(k, width, y, (), (lo, hi, branch))
            # otherwise (several pieces take the value, or none): h = y on every branch of the layer
        eye = np.eye(width)
        return LayerTarget(k, width, None, ((np.zeros((0, width)), np.zeros(0), eye, y.copy()),))
    if isinstance(target, AffineSubspace):
        if target.G.shape[1] != width:
            raise InvalidInputError(
                f"the affine subspace lives in dimension {target.G.shape[1]}, but layer {k} has width {width}"
            )
        return LayerTarget(k, width, None, ((np.zeros((0, width)), np.zeros(0), target.G.copy(), target.g.copy()),))
    if isinstance(target, Box):
        target = target.as_polyhedron()
    if isinstance(target, Polyhedron):
        if target.ambient_dim != width:
            raise InvalidInputError(
                f"the target polyhedron lives in dimension {target.ambient_dim}, but layer {k} has width {width}"
            )
        return LayerTarget(k, width, None, (_system(target),))
    if isinstance(target, Spec):
        if layer is not None and k != net.depth:
            raise InvalidInputError("a VNN-LIB spec constrains the network output: leave layer=None")
        if target.n_outputs != width:
            raise InvalidInputError(
                f"the spec has {target.n_outputs} outputs (Y_0..Y_{target.n_outputs - 1}), the network {width}"
            )
        outs: list[Polyhedron] = []
        for case in target.cases:
            outs.extend(case.outputs)
        return LayerTarget(k, width, None, tuple(_system(P) for P in outs))
    if isinstance(target, (list, tuple)) and target and all(isinstance(t, (Polyhedron, Box)) for t in target):
        polys = [t.as_polyhedron() if isinstance(t, Box) else t for t in target]
        for P in polys:
            if P.ambient_dim != width:
                raise InvalidInputError(
                    f"a target polyhedron lives in dimension {P.ambient_dim}, but layer {k} has width {width}"
                )
        return LayerTarget(k, width, None, tuple(_system(P) for P in polys))
    raise InvalidInputError(
        "target must be preimage.Activity(y), a Polyhedron/Box in the layer's space, "
        f"preimage.AffineSubspace(G, g), a list of polyhedra, or a VNN-LIB Spec; got {type(target).__name__}"
    )


def disjoint_union(systems: Iterable[System]) -> tuple[tuple[System, ...], list[int]]:
    """Pieces with disjoint interiors covering the same union as the ``(A, b, C, d)`` systems.

    ``D_1, D_2 \\ D_1, D_3 \\ (D_1 ∪ D_2), ...``, each difference written as the standard
    disjoint union ``P ∩ {a_1 x >= b_1}``, ``P ∩ {a_1 x <= b_1, a_2 x >= b_2}``, ... (closed:
    neighbouring pieces share only boundaries). Empty pieces and pieces of lower dimension
    than their disjunct (they lie on an earlier disjunct's boundary) are dropped. Returns the
    systems and, for each, the index of the disjunct it came from.
    """
    out: list[System] = []
    origin: list[int] = []
    previous: list[Polyhedron] = []
    for k, (A, b, C, d) in enumerate(systems):
        P = Polyhedron(A, b, C, d)
        if P.is_empty():
            previous.append(P)
            continue
        full = P.dim
        pieces = [P]
        for Q in previous:
            rows = np.vstack([Q.A, Q.C, -Q.C])
            rhs = np.concatenate([Q.b, Q.d, -Q.d])
            nxt = []
            for piece in pieces:
                kept_A, kept_b = np.zeros((0, P.ambient_dim)), np.zeros(0)
                for a, r in zip(rows, rhs):
                    part = piece.add_constraints(np.vstack([kept_A, -a[None, :]]), np.concatenate([kept_b, [-r]]))
                    if not part.is_empty() and part.dim == full:
                        nxt.append(part)
                    kept_A = np.vstack([kept_A, a[None, :]])
                    kept_b = np.concatenate([kept_b, [r]])
            pieces = nxt
        for piece in pieces:
            out.append((np.asarray(piece.A), np.asarray(piece.b), np.asarray(piece.C), np.asarray(piece.d)))
            origin.append(k)
        previous.append(P)
    return tuple(out), origin
