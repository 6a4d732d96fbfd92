"""Paper 002, Fig. 2 — preimages through 3 levels of a 2-node network, traced to the input.

    "In fig 2 the coordinate systems depict these mappings from the input space (x1, x2) to
    the node activities at levels 1, 2 and 3 and how the preimages at the output level can
    be traced as elements in input space forming piecewise linear manifolds. Note that
    disjoint piecewise linear regions in input space (x1, x2) gets mapped to distinct points
    on the two output axis (x1(3), x2(3)) while all the points in the grey shaded area get
    mapped to the same point x1(3) = 0, x2(3) = 0."

Left: the input box with the coordinate axes of every level remapped to it — the boundaries
of levels 1, 2, 3, where a node's pre-activation is zero (:func:`~preimage.plotting.contraction_flow`)
— the grey region, the exact preimage of (0, 0) at level 3, and the preimages of points on
the two output axes, piecewise linear curves (:func:`preimage.preimage` with
:class:`~preimage.Activity` targets). Right: the same sets at levels 1, 2, 3, each piece mapped
by the network's affine map on it (the image of its vertices).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .. import _style
from .._shapes import shape_of_points
from ..contraction import contraction_flow
from ..scene import Lines, Markers, Patch, render_matplotlib
from ._common import FigureResult, Output, finish, maps_to, new_figure

__all__ = ["NAME", "LAYERS", "TARGETS", "compute", "checks", "figure_paper002_fig2", "bend_degrees",
           "is_piecewise_linear_curve", "piece_directions"]

NAME = "paper002_fig2"
TITLE = "Paper 002, Fig. 2: preimages at level 3 of a 2-input network traced back to the input space"

#: Three levels of 2 nodes, ``x(k) = relu(W_k x(k-1) + b_k)``: chosen (from seeded random draws)
#: so that the preimages of points on both output axes visibly bend — their linear pieces are
#: not collinear — as in the paper's drawing.
LAYERS = (
    (np.array([[0.54, 0.43], [-0.63, 1.21]]), np.array([0.31, 0.06])),
    (np.array([[0.81, -0.49], [0.5, 0.41]]), np.array([-0.25, 0.17])),
    (np.array([[1.21, -0.72], [-0.21, 0.63]]), np.array([-0.1, -0.39])),
)
DOMAIN_LO, DOMAIN_HI = np.array([-2.0, -2.0]), np.array([2.0, 2.0])

#: Level-3 activities whose preimages are drawn: points on the two output axes, one positive point.
TARGETS = {
    "y = (0.1, 0)": np.array([0.1, 0.0]),
    "y = (0.26, 0)": np.array([0.26, 0.0]),
    "y = (0, 0.22)": np.array([0.0, 0.22]),
    "y = (0, 0.49)": np.array([0.0, 0.49]),
    "y = (0.2, 0.15)": np.array([0.2, 0.15]),
}
COLOURS = {
    "y = (0.1, 0)": "#f4a582",
    "y = (0.26, 0)": _style.RED,
    "y = (0, 0.22)": "#92c5de",
    "y = (0, 0.49)": _style.BLUE,
    "y = (0.2, 0.15)": _style.PURPLE,
}
#: A preimage is drawn as piecewise linear only if two of its pieces differ in direction by at
#: least this angle (degrees): visibly bent, not collinear pieces of one straight line.
MIN_BEND_DEGREES = 10.0
LEVEL_COLOURS = ("#7fbf7f", _style.ORANGE, _style.DARK_GREY)


@dataclass(frozen=True)
class Fig2Data:
    net: object
    domain: object
    grey: object  # PreimageResult of (0, 0) at level 3
    preimages: dict  # label -> PreimageResult
    flow: object  # ContractionFlow: the levels' boundaries in the input space


def compute() -> Fig2Data:
    import preimage

    net = preimage.Network.from_arrays([(W, b, True) for W, b in LAYERS])
    box = preimage.Box(DOMAIN_LO, DOMAIN_HI)
    grey = preimage.preimage(net, preimage.Activity([0.0, 0.0]), domain=box)
    pre = {k: preimage.preimage(net, preimage.Activity(y), domain=box) for k, y in TARGETS.items()}
    return Fig2Data(net, box, grey, pre, contraction_flow(net, box))


def piece_directions(polyhedra) -> np.ndarray:
    """Unit directions of the 1-D pieces among ``polyhedra`` (from their two vertices)."""
    out = []
    for P in polyhedra:
        V = P.vertices()
        if V.shape[0] == 2:
            d = V[1] - V[0]
            n = float(np.linalg.norm(d))
            if n > 0:
                out.append(d / n)
    return np.array(out).reshape(-1, 2)


def bend_degrees(polyhedra) -> float:
    """The largest angle (degrees, in [0, 90]) between the directions of two 1-D pieces — 0 when
    all pieces are collinear or parallel, or there are fewer than two.

    >>> from preimage import Polyhedron
    >>> a = Polyhedron([[1.0, 0.0], [-1.0, 0.0]], [1.0, 0.0], [[0.0, 1.0]], [0.0])   # [0, 1] × {0}
    >>> b = Polyhedron([[0.0, 1.0], [0.0, -1.0]], [1.0, 0.0], [[1.0, 0.0]], [1.0])   # {1} × [0, 1]
    >>> round(bend_degrees([a, b]), 6), is_piecewise_linear_curve([a, b]), is_piecewise_linear_curve([a])
    (90.0, True, False)
    """
    D = piece_directions(polyhedra)
    if D.shape[0] < 2:
        return 0.0
    c = np.clip(np.abs(D @ D.T), 0.0, 1.0)
    return float(np.degrees(np.arccos(c.min())))


def is_piecewise_linear_curve(polyhedra) -> bool:
    """1-D pieces that are *not* collinear: two of them differ in direction by at least
    :data:`MIN_BEND_DEGREES` — a visibly bent curve, not a straight line cut into pieces."""
    return bool(all(P.dim <= 1 for P in polyhedra) and bend_degrees(polyhedra) >= MIN_BEND_DEGREES)


def checks(data: Fig2Data) -> dict[str, bool]:
    from ... import tolerances
    from .._shapes import order_polygon, unique_points

    out = {}
    net, box = data.net, data.domain
    grid = box.sample(20000, seed=3)
    zero = np.all(np.abs(net.forward(grid)) <= tolerances.ACTIVITY_ABSOLUTE, axis=1)
    out["every input of the grey region maps to (0, 0) at level 3 (samples + forward pass)"] = maps_to(
        net, data.grey.set.sample(400, seed=4), [0.0, 0.0])
    out["the grey region is exactly the inputs mapped to (0, 0) (20000 samples of the box)"] = bool(
        np.array_equal(data.grey.set.contains(grid), zero))
    V = unique_points(np.vstack([p.polyhedron.vertices() for p in data.grey.set]))
    hull = order_polygon(V[_hull_indices(V)])
    Hp = _polygon_polyhedron(hull)
    inside_hull = Hp.contains(grid)
    out["the grey region is not convex: piecewise linear (its convex hull holds inputs not mapped to (0, 0))"] = bool(
        len(data.grey.set) > 1 and np.any(inside_hull & ~zero))
    for k, y in TARGETS.items():
        res = data.preimages[k]
        dims = [p.polyhedron.dim for p in res.set]
        ok = res.complete and maps_to(net, res.set.sample(60 * len(res.set), seed=5), y)
        if y.min() == 0.0:
            polys = [p.polyhedron for p in res.set]
            ok = ok and max(dims) == 1 and is_piecewise_linear_curve(polys)
            out[f"the preimage of {k} is a piecewise linear curve: 1-D pieces mapping to it, not collinear "
                f"(bent by {bend_degrees(polys):.0f}° >= {MIN_BEND_DEGREES:g}°)"] = ok
        else:
            ok = ok and max(dims) == 0
            out[f"the preimage of {k} (both outputs positive) is isolated points mapping to it"] = ok
    keys = list(TARGETS)
    disjoint = True
    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            for p in data.preimages[keys[i]].set:
                for q in data.preimages[keys[j]].set:
                    if not p.polyhedron.intersect(q.polyhedron).is_empty():
                        disjoint = False
    out["preimages of distinct output points are disjoint"] = disjoint
    return out


def _hull_indices(V: np.ndarray) -> np.ndarray:
    from scipy.spatial import ConvexHull

    return ConvexHull(V).vertices


def _polygon_polyhedron(P: np.ndarray):
    """The convex polygon ``P`` (ordered counter-clockwise) as ``{x : A x <= b}``."""
    from ...polyhedra import Polyhedron

    E = np.roll(P, -1, axis=0) - P
    A = np.column_stack([E[:, 1], -E[:, 0]])
    return Polyhedron(A, np.sum(A * P, axis=1))


def _image_items(data: Fig2Data, level: int) -> list:
    """The drawn sets at ``level`` (0 = input): each piece mapped by the network's affine map on it."""
    net = data.net
    items: list = []

    def mapped(piece):
        V = piece.polyhedron.vertices()
        return shape_of_points(V if level == 0 else net.activations(V, layer=level))

    grey = [mapped(p) for p in data.grey.set]
    polys = tuple(s.polygons[0] for s in grey if s.kind == "polygon")
    segs = tuple(s.polygons[0] for s in grey if s.kind == "segment")
    pts = [s.polygons[0] for s in grey if s.kind == "point"]
    lab = "P((0,0)): mapped to (0,0) at level 3"
    if polys:
        items.append(Patch(polys, color=_style.GREY, alpha=0.55, edgecolor="none", label=lab))
        lab = None
    if segs:
        items.append(Lines(segs, color=_style.GREY, width=3, label=lab))
        lab = None
    if pts:
        items.append(Markers(np.vstack(pts), color=_style.GREY, size=60, label=lab))
    for k, res in data.preimages.items():
        shapes = [mapped(p) for p in res.set]
        segs = tuple(s.polygons[0] for s in shapes if s.kind == "segment")
        pts = [s.polygons[0] for s in shapes if s.kind == "point"]
        if segs:
            items.append(Lines(segs, color=COLOURS[k], width=2.2, label=f"P({k[4:]})"))
        if pts:
            items.append(Markers(np.vstack(pts), color=COLOURS[k], size=22, label=None if segs else f"P({k[4:]})"))
    return items


def figure_paper002_fig2(out_dir, *, dpi=None, formats=None, html_js: str = "inline") -> FigureResult:
    """Regenerate paper 002, Fig. 2 into ``out_dir`` (PNG, SVG and a caption ``.txt``)."""
    t0 = time.perf_counter()
    out = Output.make(out_dir, dpi, formats, html_js)
    data = compute()
    chk = checks(data)
    fig = new_figure(13.0, 5.2)
    axes = fig.subplots(1, 4, width_ratios=[1.5, 1, 1, 1])
    ax = axes[0]
    for level in range(1, 4):
        segs = tuple(s.points for s in data.flow.by_layer(level))
        render_matplotlib([Lines(segs, color=LEVEL_COLOURS[level - 1], width=1.0,
                                 label=f"level {level} axes (x_i({level}) = 0)")], ax)
    render_matplotlib(_image_items(data, 0), ax)
    ax.set_xlim(DOMAIN_LO[0], DOMAIN_HI[0])
    ax.set_ylim(DOMAIN_LO[1], DOMAIN_HI[1])
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title("input space: level-3 preimages", fontsize=10)
    fig.legend(*ax.get_legend_handles_labels(), fontsize=8, loc="outside lower center", ncols=5, frameon=False)
    for level in range(1, 4):
        bx = axes[level]
        render_matplotlib(_image_items(data, level), bx)
        bx.axhline(0, color=LEVEL_COLOURS[level - 1], lw=1)
        bx.axvline(0, color=LEVEL_COLOURS[level - 1], lw=1)
        bx.autoscale_view()
        lo, hi = bx.get_xlim(), bx.get_ylim()
        top = max(lo[1], hi[1]) * 1.05
        bx.set_xlim(-0.08 * top, top)
        bx.set_ylim(-0.08 * top, top)
        bx.set_aspect("equal")
        bx.set_xlabel(f"$x_1^{{({level})}}$")
        bx.set_ylabel(f"$x_2^{{({level})}}$")
        bx.set_title(f"level {level}", fontsize=10)
    fig.suptitle(TITLE, fontsize=11)
    paths = out.save_matplotlib(fig, NAME)
    shown = """
A rectifier network with input (x1, x2) and three levels of two nodes. Left, in the input box: the
coordinate axes of each level remapped to the input space (where a node of that level has zero
pre-activation: green level 1, orange level 2, dark grey level 3); the grey region — the exact
preimage of the level-3 activity (0, 0), a non-convex union of polygons, all irreversibly mixed; and
the exact preimages of points on the two output axes, piecewise linear curves whose pieces are
not collinear — they visibly bend where they cross the remapped axes of earlier levels (red: on
the x1(3) axis, blue: on the x2(3) axis) — and of one point with both outputs positive (isolated
points, purple). Right: the same sets at levels 1, 2 and 3 — each convex piece mapped by the affine map the
network has on it — contracting onto the output axes and, for the grey region, onto (0, 0)."""
    weights = {}
    for k, (Wk, bk) in enumerate(LAYERS, start=1):
        weights[f"W{k}"], weights[f"b{k}"] = Wk, bk
    weights["domain"] = [DOMAIN_LO.tolist(), DOMAIN_HI.tolist()]
    return finish(out, NAME, TITLE, shown,
                  ["preimage.preimage(net, preimage.Activity(y), domain=Box) — the preimages at level 3",
                   "preimage.plotting.contraction_flow (preimage.linear_regions of the sub-networks) — the level axes",
                   "Network.activations on each piece's vertices — the images at levels 1, 2, 3"],
                  weights, chk, {"data": data}, paths, t0)
