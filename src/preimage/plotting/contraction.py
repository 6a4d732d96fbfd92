"""Contraction, drawn two ways.

* :func:`plot_contraction` — a :class:`~preimage.conv.ContractionProfile` (paper 000, §5):
  per layer, the dimension of the coordinate subspace the samples lie on (their non-zero
  activities) and the dimension of their local preimage.
* :func:`contraction_flow` / :func:`plot_contraction_flow` — paper 000, Fig. 2: for a 2-input
  network, the boundaries of every layer (where one of its pre-activations is zero)
  remapped to the input space. They are computed exactly: on each activation region of the
  layers before ``l`` (:func:`preimage.linear_regions` of the sub-network) the activity
  ``h_{l-1}`` is affine, ``h = M x + c``, and the boundary of node ``i`` of layer ``l`` there
  is the segment ``{x in region : w_i·(M x + c) + b_i = 0}``. A boundary segment is
  *nested* where the activity it comes from lies in ``[0, R_i]^n``, ``R_i`` the row's
  nesting radius (:func:`preimage.conv.row_nesting_radii`: up to it a zero input stays a
  zero output), and *not nested* beyond — where the paper's wider cones cut the axes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import tolerances
from .._validation import readonly, require_relu_layers
from ..errors import InvalidInputError
from . import _style
from ._shapes import shape_of
from .scene import Lines, axes_for, render_matplotlib

__all__ = ["plot_contraction", "ContractionFlow", "BoundarySegment", "contraction_flow", "plot_contraction_flow"]


def plot_contraction(profile, ax=None, *, band: bool = True, colors: Sequence[Any] = (_style.BLUE, _style.RED)) -> list:
    """Draw a contraction profile: per layer, mean coordinate-subspace and local-preimage dimensions.

    Parameters
    ----------
    profile : :class:`~preimage.conv.ContractionProfile` (from
        :func:`preimage.conv.contraction_profile`).
    ax : matplotlib axes or ``None``.
    band : shade the range (min to max over the samples) of each quantity.
    colors : the two line colours.

    Returns
    -------
    list of matplotlib artists: the two lines (non-zero activities, local preimage dimension),
    then the bands.

    Examples
    --------
    >>> import numpy as np, preimage
    >>> from matplotlib.figure import Figure
    >>> from preimage.conv import contraction_profile
    >>> net = preimage.Network.from_arrays([(np.eye(2), [-0.5, -0.5], True), (np.eye(2), [0.0, -0.3], True)])
    >>> p = contraction_profile(net, [[1.0, 1.0], [0.2, 1.0], [1.0, 0.2]])
    >>> ax = Figure().add_subplot()
    >>> arts = plot_contraction(p, ax)
    >>> arts[0].get_ydata().tolist()          # mean non-zero activities at layers 0, 1, 2
    [2.0, 1.3333333333333333, 1.3333333333333333]
    """
    from ..conv.contraction import ContractionProfile

    if not isinstance(profile, ContractionProfile):
        raise InvalidInputError(
            f"profile must be a ContractionProfile (see contraction_profile), got {type(profile).__name__}"
        )
    ax = axes_for(ax, 2)
    layers = np.arange(profile.depth + 1)
    nz = profile.nonzero.astype(np.float64)
    ld = np.where(profile.local_dim >= 0, profile.local_dim, np.nan).astype(np.float64)
    arts: list = []
    import warnings

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-undecided layers: nan means, drawn as gaps
        series = [(nz, "coordinate-subspace dim. (non-zero activities)"), (ld, "local preimage dim.")]
        means = [np.nanmean(s, axis=0) if s.size else np.full(layers.size, np.nan) for s, _ in series]
        for (_, lab), m, col in zip(series, means, colors):
            arts.extend(ax.plot(layers, m, marker="o", color=col, label=lab))
        if band and profile.n_samples:
            for (s, _), col in zip(series, colors):
                arts.append(ax.fill_between(layers, np.nanmin(s, axis=0), np.nanmax(s, axis=0), color=col, alpha=0.15))
    ax.set_xlabel("layer")
    ax.set_ylabel("dimension")
    ax.set_xticks(layers)
    ax.legend(fontsize=8, loc="best")
    return arts


@dataclass(frozen=True, slots=True, eq=False)
class BoundarySegment:
    """One piece of a layer's boundary remapped to the input space.

    Attributes
    ----------
    layer : the layer ``l`` (1-based) whose pre-activation vanishes here.
    node : the node ``i`` of that layer.
    points : (2, 2) — the segment's end points in the input space.
    nested : whether the activity ``h_{l-1}`` along it lies within the row's nesting radius
        (``h < R`` somewhere along it; a segment on which some ``h_j = R`` throughout — where
        the layer's wider cone crosses an axis of its input cone — is not nested).
    radius : that radius ``R_i`` (``inf``: always nested, ``-inf``: never, ``b_i > 0``).
    """

    layer: int
    node: int
    points: np.ndarray
    nested: bool
    radius: float


@dataclass(frozen=True, slots=True, eq=False)
class ContractionFlow:
    """Every layer's boundaries in the input space of a 2-input network (paper 000, Fig. 2).

    Attributes
    ----------
    segments : the :class:`BoundarySegment` s, layer after layer.
    radii : per layer, the per-row nesting radii (``None`` for a non-square layer).
    regions : per layer ``l``, the number of activation regions of the first ``l`` layers.
    domain : the input box.
    """

    segments: tuple[BoundarySegment, ...]
    radii: tuple[np.ndarray | None, ...]
    regions: tuple[int, ...]
    domain: Any

    def by_layer(self, layer: int) -> tuple[BoundarySegment, ...]:
        return tuple(s for s in self.segments if s.layer == layer)

    @property
    def depth(self) -> int:
        return len(self.radii)


def contraction_flow(net, domain, *, time_limit: float | None = None) -> ContractionFlow:
    """Each layer's boundaries remapped to the input space, split into nested / not nested parts.

    Parameters
    ----------
    net : preimage.Network with 2 inputs.
    domain : a 2-D :class:`~preimage.Box` (inside the orthant for the nesting marks to mean
        what the paper means).
    time_limit : per sub-network, for :func:`preimage.linear_regions`.

    Returns
    -------
    ContractionFlow

    Examples
    --------
    >>> import numpy as np, preimage
    >>> net = preimage.Network.from_arrays([(np.eye(2), [-0.5, -0.5], True), (np.eye(2), [-0.25, -0.25], True)])
    >>> flow = contraction_flow(net, preimage.Box([0, 0], [1, 1]))
    >>> flow.regions                     # regions of the layers before 1 and 2
    (1, 4)
    >>> sorted((s.node, np.round(s.points, 6).tolist()) for s in flow.by_layer(2))   # x_i = 0.75, cut by the regions
    [(0, [[0.75, 0.0], [0.75, 0.5]]), (0, [[0.75, 0.5], [0.75, 1.0]]), (1, [[0.0, 0.75], [0.5, 0.75]]), (1, [[0.5, 0.75], [1.0, 0.75]])]
    """
    from ..conv.nesting import row_nesting_radii
    from ..engine.api import linear_regions
    from ..network import Network
    from ..polyhedra import Box

    if not isinstance(net, Network):
        raise InvalidInputError(f"net must be a preimage.Network, got {type(net).__name__}")
    require_relu_layers(net, "contraction_flow (boundaries where a pre-activation is zero, nesting radii)")
    if net.input_dim != 2:
        raise InvalidInputError(f"contraction flows are drawn for 2-input networks, got {net.input_dim} inputs")
    if not isinstance(domain, Box) or domain.dim != 2:
        raise InvalidInputError("domain must be a 2-D preimage.Box")
    segments: list[BoundarySegment] = []
    radii: list[np.ndarray | None] = []
    counts: list[int] = []
    for l in range(1, net.depth + 1):
        lay = net.layers[l - 1]
        W, b = np.asarray(lay.dense_weight), np.asarray(lay.bias)
        R = row_nesting_radii(W, b) if W.shape[0] == W.shape[1] else None
        radii.append(R)
        if l == 1:
            regions = [(domain.as_polyhedron(), np.eye(2), np.zeros(2))]
        else:
            sub = Network(net.layers[: l - 1])
            res = linear_regions(sub, domain, time_limit=time_limit)
            regions = [(p.polyhedron, p.affine_map.M, p.affine_map.c) for p in res.set]
        counts.append(len(regions))
        for P, M, c in regions:
            A = W @ M  # z_l = A x + a on the region
            a = W @ c + b
            for i in range(W.shape[0]):
                if np.linalg.norm(A[i]) <= tolerances.ZERO_ROW * (1.0 + np.linalg.norm(W[i])):
                    continue  # node i is constant on the region: no boundary there
                line = P.add_constraints(C=A[i:i + 1], d=[-a[i]])
                r = math.inf if R is None else float(R[i])
                for part, nested in _split_by_radius(line, M, c, r):
                    shp = shape_of(part)
                    if shp.kind != "segment":
                        continue
                    ends = shp.polygons[0]
                    if nested and math.isfinite(r):
                        # a segment lying on the radius itself (h_j = R all along it: where the layer's
                        # wider cone crosses an axis of its input cone) is not nested: no point of it
                        # has h < R
                        H = ends @ M.T + c
                        if np.any(np.all(H >= r - tolerances.ACTIVITY_ABSOLUTE, axis=0)):
                            continue
                    segments.append(BoundarySegment(l, i, readonly(ends.copy()), nested, r))
    return ContractionFlow(tuple(segments), tuple(radii), tuple(counts), domain)


def _split_by_radius(line, M: np.ndarray, c: np.ndarray, r: float):
    """The parts of ``line`` where ``h = M x + c`` lies in ``[0, r]^n`` (nested) and beyond."""
    if r == math.inf:
        return [(line, True)]
    if r == -math.inf:
        return [(line, False)]
    out = [(line.add_constraints(A=M, b=r - c), True)]
    for j in range(M.shape[0]):
        out.append((line.add_constraints(A=-M[j:j + 1], b=[c[j] - r]), False))
    return out


def flow_items(flow: ContractionFlow, *, colors: Sequence[Any] = _style.LAYER_COLOURS,
               not_nested_color: Any = _style.BLACK, mark_nesting: bool = True, width: float = 1.6) -> list:
    """Items for a :class:`ContractionFlow`: layer ``l`` in ``colors[(l - 1) % len(colors)]``,
    parts beyond the nesting radius in ``not_nested_color`` (with ``mark_nesting``)."""
    items: list = []
    k = len(colors)
    for l in range(1, flow.depth + 1):
        segs = flow.by_layer(l)
        col = colors[(l - 1) % k]
        first = (l - 1) % k + 1
        name = f"layer {l}" if flow.depth <= k else f"layers {first}, {first + k}, …"
        nested = [s.points for s in segs if s.nested or not mark_nesting]
        beyond = [s.points for s in segs if mark_nesting and not s.nested]
        if nested:
            items.append(Lines(tuple(nested), color=col, width=width, label=name))
        if beyond:
            items.append(Lines(tuple(beyond), color=not_nested_color, width=width,
                               label="at or beyond the nesting radius (wider cone)"))
    return items


def plot_contraction_flow(flow: ContractionFlow, ax=None, *, colors: Sequence[Any] = _style.LAYER_COLOURS,
                          not_nested_color: Any = _style.BLACK, mark_nesting: bool = True, width: float = 1.6) -> list:
    """Draw a :class:`ContractionFlow`: each layer's boundaries in the input space, layers in
    alternating colours, the parts beyond the nesting radius in ``not_nested_color``.

    Returns
    -------
    list of matplotlib ``Line2D``, one per segment.

    Examples
    --------
    >>> import numpy as np, preimage
    >>> from matplotlib.figure import Figure
    >>> W2 = np.array([[1.0, 0.4], [0.4, 1.0]])       # a wider cone: nesting radius 0.3 / 0.4 = 0.75
    >>> net = preimage.Network.from_arrays([(np.eye(2), [-0.3, -0.3], True), (W2, [-0.3, -0.3], True)])
    >>> flow = contraction_flow(net, preimage.Box([0, 0], [2, 2]))
    >>> arts = plot_contraction_flow(flow, Figure().add_subplot())
    >>> len(arts) == len(flow.segments)
    True
    >>> [np.round(s.points, 6).tolist() for s in flow.segments if not s.nested]   # where h = (0, 0.75)
    [[[0.0, 1.05], [0.3, 1.05]], [[1.05, 0.0], [1.05, 0.3]]]
    """
    if not isinstance(flow, ContractionFlow):
        raise InvalidInputError(f"flow must be a ContractionFlow (see contraction_flow), got {type(flow).__name__}")
    ax = axes_for(ax, 2)
    arts = render_matplotlib(flow_items(flow, colors=colors, not_nested_color=not_nested_color,
                                        mark_nesting=mark_nesting, width=width), ax)
    ax.set_xlim(flow.domain.lo[0], flow.domain.hi[0])
    ax.set_ylim(flow.domain.lo[1], flow.domain.hi[1])
    ax.set_aspect("equal")
    return arts
