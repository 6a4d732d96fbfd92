"""Linear regions in random 2-D slices through data points, per layer and architecture.

A slice is the plane through three examples ``p0, p1, p2``:
``x = p0 + t1 (p1 − p0) + t2 (p2 − p0)`` with ``t`` in ``[−margin, 1 + margin]²``
(:meth:`preimage.Slice.through`). The regions of the sub-network up to layer ``k`` are the
sets of constant activation pattern on layers ``1..k``; every region of layer ``k`` is a
union of regions of the whole network, and a convex set is fixed by its pattern, so one
exact enumeration (:func:`preimage.linear_regions`, vertex backend) of the deepest layer
asked for gives every shallower count as the number of distinct pattern prefixes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import tolerances
from ..engine.domain import Slice
from ..engine.result import PreimageResult
from ..errors import InvalidInputError
from ..network import AffineLayer, Network
from . import check_data
from .mixing import _check_network, _figure, _freeze

__all__ = [
    "truncate",
    "silence_dead_neurons",
    "pattern_offsets",
    "count_by_layer",
    "slice_regions",
    "random_triples",
    "region_counts",
    "RegionStats",
    "plot_slice_regions",
]

log = logging.getLogger(__name__)

#: Attempts at drawing three affinely independent examples before giving up.
_MAX_DRAWS = 100


def truncate(net: Network, layer: int) -> Network:
    """The sub-network of layers ``1..layer`` (its output is ``h_layer``).

    >>> import numpy as np, preimage
    >>> net = preimage.Network.from_arrays([(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))])
    >>> truncate(net, 1).widths
    (2, 2)
    """
    net = _check_network(net)
    k = net._check_layer(layer, allow_input=False)
    return Network(net.layers[:k], net.input_shape, net.name)


def silence_dead_neurons(net: Network, tol: float | None = None) -> tuple[Network, list[tuple[int, int]]]:
    """Make numerically dead ReLU units exactly dead; return the network and their ``(layer, unit)``.

    A unit whose weights and bias are all at most ``tol`` in magnitude (default
    :data:`~preimage.tolerances.ZERO_ROW`) — weight decay drives units that never fire to
    ``~1e-34`` — gets weight 0 and bias −1, so that it is inactive everywhere. Its hyperplane
    ``w·h + b = 0`` is then absent instead of too close to call; the network's activities
    change by at most ``tol·(‖h‖₁ + 1)`` in such units. Tools that decide signs in exact
    float64 error bounds (``relucent``) refuse the original; the engine treats such a unit as
    constant within ``VERTEX_SIGN`` either way, and counts the same regions on both. Only
    ReLU layers are touched (a unit of another activation is left as it is).

    >>> import numpy as np, preimage
    >>> net = preimage.Network.from_arrays([(np.array([[1.0, 0.0], [1e-34, 0.0]]), np.array([0.0, 1e-34]), True)])
    >>> clean, dead = silence_dead_neurons(net)
    >>> dead, clean.layers[0].bias.tolist()
    ([(1, 1)], [0.0, -1.0])
    """
    net = _check_network(net)
    tol = tolerances.resolve(tol, tolerances.ZERO_ROW)
    layers, dead = [], []
    for k, lay in enumerate(net.layers, start=1):
        W = lay.dense_weight
        rows = np.flatnonzero(lay.relu & (np.max(np.abs(W), axis=1, initial=0.0) <= tol) & (np.abs(lay.bias) <= tol))
        if rows.size == 0:
            layers.append(lay)
            continue
        dead.extend((k, int(r)) for r in rows)
        W2, b2 = np.array(W), np.array(lay.bias)
        W2[rows] = 0.0
        b2[rows] = -1.0
        layers.append(AffineLayer(W2, b2, name=lay.name, in_shape=lay.in_shape, out_shape=lay.out_shape,
                                  pre_shape=lay.pre_shape, activation=lay.activation))
    if dead:
        log.info("silenced %d numerically dead units: %s", len(dead), dead[:10])
    return Network(layers, net.input_shape, net.name), dead


def pattern_offsets(net: Network) -> np.ndarray:
    """``offsets[k]`` = number of units with an activation (ReLU or another one) in layers
    ``1..k`` (the pattern prefix length)."""
    widths = [lay.out_dim if lay.has_activation else 0 for lay in net.layers]
    return np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)


def count_by_layer(result: PreimageResult, net: Network, layers: Sequence[int]) -> dict[int, int]:
    """Regions of each sub-network ``1..k`` from an enumeration of a deeper one: the number of
    distinct activation-pattern prefixes among its (full-dimensional) pieces."""
    off = pattern_offsets(net)
    if not len(result.set):
        return {int(k): 0 for k in layers}
    P = np.array([p.pattern for p in result.set])  # booleans, or int8 branch indices
    out = {}
    for k in layers:
        m = int(off[k])
        if m > P.shape[1]:
            raise InvalidInputError(f"the enumeration covers {P.shape[1]} units, layer {k} needs {m}")
        out[int(k)] = int(np.unique(P[:, :m], axis=0).shape[0]) if m else 1
    return out


def _as_slice(net: Network, where, margin: float) -> Slice:
    if isinstance(where, Slice):
        return where
    pts = np.asarray(where, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] != 3 or pts.shape[1] != net.input_dim:
        raise InvalidInputError(
            f"a slice needs 3 points of width {net.input_dim} (one per row), got an array of shape {pts.shape}"
        )
    return Slice.through(pts, margin=margin)


def slice_regions(net: Network, where, layer: int | None = None, *, margin: float = 0.25,
                  time_limit: float | None = None) -> PreimageResult:
    """Every region of the sub-network ``1..layer`` (default: all layers) on a 2-D slice.

    ``where`` is a :class:`~preimage.Slice` or three points (rows) the slice goes through.
    The pieces are in slice coordinates ``t``; each carries its activation pattern.

    >>> import numpy as np, preimage
    >>> net = preimage.Network.from_arrays([(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([-0.5, -0.5]), True)])
    >>> len(slice_regions(net, [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], margin=0.0).set)   # two lines cross
    4
    """
    from ..engine.api import linear_regions

    net = _check_network(net)
    k = net.depth if layer is None else net._check_layer(layer, allow_input=False)
    return linear_regions(truncate(net, k), _as_slice(net, where, margin), time_limit=time_limit)


def random_triples(X: np.ndarray, n_slices: int, seed: int | None) -> np.ndarray:
    """``n_slices`` triples of distinct example indices spanning a plane (seeded)."""
    n = X.shape[0]
    if n < 3:
        raise InvalidInputError(f"slices need at least 3 examples, got {n}")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(int(n_slices)):
        for _ in range(_MAX_DRAWS):
            idx = rng.choice(n, size=3, replace=False)
            D = (X[idx[1:]] - X[idx[0]]).T
            s = np.linalg.svd(D, compute_uv=False)
            if s[-1] > tolerances.RANK_RELATIVE * max(float(s[0]), 1.0):
                out.append(np.sort(idx))
                break
        else:
            raise InvalidInputError("could not draw 3 affinely independent examples: the data are (nearly) collinear")
    return np.array(out, dtype=np.int64).reshape(-1, 3)


@dataclass(frozen=True)
class RegionStats:
    """Region counts on random 2-D slices, per architecture and layer.

    ``counts[name]`` is ``(n_slices, len(layers[name]))``; ``seconds[name]`` the time of
    each slice's enumeration (all layers at once); ``complete[name]`` whether it finished
    within the time limit; ``triples`` the example indices each slice goes through.
    """

    models: tuple[str, ...]
    layers: dict[str, tuple[int, ...]]
    counts: dict[str, np.ndarray]
    seconds: dict[str, np.ndarray]
    complete: dict[str, np.ndarray]
    triples: np.ndarray
    margin: float
    seed: int | None
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        _freeze(self)

    def table(self) -> list[dict[str, Any]]:
        rows = []
        for name in self.models:
            for j, k in enumerate(self.layers[name]):
                c = self.counts[name][:, j]
                rows.append({"model": name, "layer": k, "slices": int(c.size), "mean": float(c.mean()),
                             "median": float(np.median(c)), "min": int(c.min()), "max": int(c.max()),
                             "seconds_per_slice": float(self.seconds[name].mean()),
                             "complete": bool(self.complete[name].all())})
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "margin": self.margin, "seed": self.seed, "triples": self.triples.tolist(), "table": self.table(),
            "counts": {m: self.counts[m].tolist() for m in self.models},
            "layers": {m: list(self.layers[m]) for m in self.models},
            "seconds": {m: self.seconds[m].tolist() for m in self.models},
            "complete": {m: self.complete[m].tolist() for m in self.models}, "info": self.info,
        }


def region_counts(
    models: Network | Sequence[Network] | Mapping[str, Network],
    X,
    *,
    n_slices: int = 10,
    seed: int | None = 0,
    layers: Sequence[int] | Mapping[str, Sequence[int]] | None = None,
    margin: float = 0.25,
    time_limit: float | None = None,
) -> RegionStats:
    """Count linear regions on ``n_slices`` random planes through triples of examples.

    Parameters
    ----------
    models : one network, a list, or ``{name: network}`` (all with the data's input width).
    X : the examples ``(n, input_dim)``; slices go through random triples of them (seeded
        by ``seed``; the same triples for every model).
    layers : the layers to count (default: every layer with an activation); a mapping per model name.
    margin : the slice covers ``t`` in ``[−margin, 1 + margin]²``.
    time_limit : per slice; a slice that runs out is marked incomplete (its counts are lower
        bounds).

    Examples
    --------
    >>> import numpy as np, preimage
    >>> rng = np.random.default_rng(0)
    >>> net = preimage.Network.from_arrays([(rng.normal(size=(6, 4)), rng.normal(size=6)),
    ...                                     (rng.normal(size=(3, 6)), rng.normal(size=3))])
    >>> st = region_counts({"tiny": net}, rng.random((20, 4)), n_slices=2, seed=1)
    >>> st.counts["tiny"].shape, bool(st.complete["tiny"].all())
    ((2, 1), True)
    """
    if isinstance(models, Network):
        named = {models.name or "model": models}
    elif isinstance(models, Mapping):
        named = dict(models)
    else:
        named = {}
        for i, m in enumerate(models):
            base = (m.name if isinstance(m, Network) else "") or f"model{i}"
            named[base if base not in named else f"{base}#{i}"] = m
    if not named:
        raise InvalidInputError("models is empty: give at least one network")
    for net in named.values():
        _check_network(net)
    first = next(iter(named.values()))
    Xc, _ = check_data(first, X)
    for net in named.values():
        check_data(net, Xc)
    if isinstance(n_slices, bool) or not isinstance(n_slices, (int, np.integer)) or n_slices < 1:
        raise InvalidInputError(f"n_slices must be a positive integer, got {n_slices!r}")
    if not np.isfinite(margin) or margin < 0:
        raise InvalidInputError(f"margin must be a finite non-negative number, got {margin!r}")
    triples = random_triples(Xc, int(n_slices), seed)
    per_layers: dict[str, tuple[int, ...]] = {}
    for name, net in named.items():
        ks = layers.get(name) if isinstance(layers, Mapping) else layers
        if ks is None:
            ks = [k for k, lay in enumerate(net.layers, start=1) if lay.has_activation] or [net.depth]
        per_layers[name] = tuple(net._check_layer(k, allow_input=False) for k in ks)
    counts, seconds, complete = {}, {}, {}
    for name, net in named.items():
        ks = per_layers[name]
        deepest = max(ks)
        C = np.zeros((len(triples), len(ks)), dtype=np.int64)
        T = np.zeros(len(triples))
        ok = np.zeros(len(triples), dtype=bool)
        for s, tri in enumerate(triples):
            t0 = time.perf_counter()
            res = slice_regions(net, Slice.through(Xc[tri], margin=margin), deepest, time_limit=time_limit)
            by = count_by_layer(res, net, ks)
            T[s] = time.perf_counter() - t0
            C[s] = [by[k] for k in ks]
            ok[s] = res.complete
            log.info("%s, slice %d through %s: %s regions (%.2f s)", name, s, tri.tolist(), by, T[s])
        counts[name], seconds[name], complete[name] = C, T, ok
    return RegionStats(tuple(named), per_layers, counts, seconds, complete, triples, float(margin), seed)


def plot_slice_regions(result: PreimageResult, ax=None, out=None, *, seed: int = 0, points: bool = True) -> list:
    """Draw the regions of a slice enumeration (:func:`slice_regions`), one colour per region.

    Pieces are drawn in slice coordinates ``t``; with ``points`` the three data points
    (``t = (0,0), (1,0), (0,1)``) are marked. Returns the artists (a polygon collection and
    the point markers); with ``out`` the figure is saved there.
    """
    from .._optional import require

    PolyCollection = require("matplotlib.collections", "plot_slice_regions").PolyCollection

    fig = None
    if ax is None:
        fig, axes = _figure(1, 1, (4.0, 4.0))
        ax = axes[0, 0]
    polys = []
    for piece in result.set:
        V = np.asarray(piece.vertices(), dtype=np.float64)  # slice coordinates, as the piece
        if V.shape[0] < 3 or V.shape[1] != 2:
            continue
        c = V.mean(axis=0)
        polys.append(V[np.argsort(np.arctan2(V[:, 1] - c[1], V[:, 0] - c[0]))])
    rng = np.random.default_rng(seed)
    colours = rng.random((len(polys), 3)) * 0.6 + 0.35
    coll = PolyCollection(polys, facecolors=colours, edgecolors="k", linewidths=0.3 if len(polys) < 500 else 0.05)
    artists: list = [ax.add_collection(coll)]
    if points:
        artists.append(ax.scatter([0, 1, 0], [0, 0, 1], c="red", s=18, zorder=3))
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_title(f"{len(result.set)} regions", fontsize=9)
    if fig is None:
        fig = ax.figure
    if out is not None:
        fig.savefig(out, dpi=120)
    return artists
