"""Paper 000, Fig. 2 — contraction flows of 2-node circulant networks with 3 and 6 layers.

    "Figure 2 illustrates the mapping of data from the input space (x1, x2) to the output
    space (y1, y2) for two networks with 3 and 6 layers respectively. The dashed lines
    represent successive preimages of data that maps to a specific location at a layer. By
    connecting them we get domains of input data mapped to the same output at the final
    layer, i.e they are contraction flows depicting how data is moved through the network.
    Note that in both layers the major part of the input domain is mapped to output (0, 0).
    [...] The red lines represent data that is associated with layer cones that are
    completely nested inside its predecessors, while the black lines represent data where
    the succeeding cone has a wider angle than its predecessor."

Each layer is ``x(l+1) = relu([[a, b], [b, a]] x(l) + c)``. For every layer, its boundaries —
where one of its pre-activations is zero — are remapped to the input space exactly
(:func:`~preimage.plotting.contraction_flow`). Left: in alternating red and blue (the paper's
"alternating red and blue frames"). Right: coloured by the paper's criterion — black where the
layer's cone has a wider angle than its predecessor's (the angle of the hyperplanes to the
identity line, :attr:`preimage.conv.CirculantLayer.angle`; the predecessor of layer 1 is the
input orthant, 45°), red where it does not; orange crosses mark where a black layer's boundary
reaches the layer's nesting radius ``−c/b`` (its cone crosses the axes of its input cone).
Dashed: the per-layer contraction flows — for a few start points ``p``, the preimage at every
layer ``l`` of ``p``'s activity ``h_l(p)`` there (darker for later layers): successive preimages
of data mapped to one location at a layer, which grow at contracting layers and stay put at the
"wasted" wider-cone layers. Grey: the exact preimage of the output (0, 0).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ... import tolerances
from .. import _style
from .._shapes import shape_of
from ..contraction import contraction_flow, flow_items
from ..preimages import preimage_items
from ..scene import Lines, Markers, render_matplotlib
from ._common import FigureResult, Output, finish, maps_to, new_figure

__all__ = ["NAME", "LEFT", "RIGHT", "network", "compute", "checks", "figure_paper000_fig2"]

NAME = "paper000_fig2"
TITLE = "Paper 000, Fig. 2: contraction flows of 2-node circulant networks (3 and 6 layers)"

#: ``(a, b, c)`` per layer. Left: the trivial bias-only layers, ``(a, b) = (1, 0)``.
LEFT = ((1.0, 0.0, -0.5), (1.0, 0.0, -0.45), (1.0, 0.0, -0.55))
#: Right: arbitrary circulant layers; ``b > 0`` gives a wider cone with a finite nesting radius.
RIGHT = (
    (1.0, -0.25, -0.3),
    (1.0, 0.3, -0.3),
    (1.1, -0.2, -0.2),
    (0.9, 0.35, -0.25),
    (1.0, -0.3, -0.2),
    (1.0, 0.4, -0.15),
)
DOMAIN_HI = 2.0
#: start points ``p`` of the dashed per-layer contraction flows: the trajectory
#: ``p = h_0(p) → h_1(p) → … → h_L(p)``, one arrow per layer, is drawn in the plane
FLOW_STARTS = tuple(np.array(p) for p in ((1.95, 0.3), (0.3, 1.95), (1.9, 1.2), (1.2, 1.9), (1.98, 0.9),
                                          (0.9, 1.98), (1.99, 1.6), (1.6, 1.99), (1.0, 1.0)))
#: The angle of the input orthant's cone (``W = I`` in 2-D: 45°), the predecessor of layer 1.
ORTHANT_ANGLE = float(np.arcsin(1.0 / np.sqrt(2.0)))


def cone_angles(params) -> list[float]:
    """Per layer, the angle of its cone's hyperplanes to the identity line
    (:attr:`preimage.conv.CirculantLayer.angle` of the circulant ``[[a, b], [b, a]]``)."""
    from ...conv import circulant

    return [float(circulant([a, b], 2, bias=c).angle) for a, b, c in params]


def wider_layers(params) -> tuple[int, ...]:
    """The layers (1-based) whose cone has a wider angle than its predecessor's — the paper's
    black lines; the predecessor of layer 1 is the input orthant.

    >>> wider_layers([(1.0, -0.25, -0.3), (1.0, 0.3, -0.3), (1.0, 0.0, -0.5)])   # 31°, 62°, 45°
    (2,)
    """
    ang = [ORTHANT_ANGLE, *cone_angles(params)]
    return tuple(k for k in range(1, len(ang)) if ang[k] > ang[k - 1] + tolerances.ANGLE)


def network(params):
    """The 2-node circulant ReLU network with layers ``(a, b, c)``."""
    import preimage

    return preimage.Network.from_arrays([(np.array([[a, b], [b, a]]), np.array([c, c]), True) for a, b, c in params])


@dataclass(frozen=True)
class Side:
    params: tuple
    net: object
    flow: object  # ContractionFlow
    zero: object  # PreimageResult of (0, 0) at the last layer
    flows: tuple  # per start point p, (L + 1, 2): the trajectory h_0(p) = p, h_1(p), …, h_L(p)


@dataclass(frozen=True)
class Fig2Data:
    left: Side
    right: Side
    domain: object


def _side(params, box) -> Side:
    import preimage

    net = network(params)
    zero = preimage.preimage(net, preimage.Activity([0.0, 0.0]), domain=box)
    flows = tuple(np.vstack([p] + [net.activations(p, layer=k) for k in range(1, net.depth + 1)])
                  for p in FLOW_STARTS)
    return Side(tuple(params), net, contraction_flow(net, box), zero, flows)


def compute() -> Fig2Data:
    import preimage

    box = preimage.Box([0.0, 0.0], [DOMAIN_HI, DOMAIN_HI])
    return Fig2Data(_side(LEFT, box), _side(RIGHT, box), box)


def zero_fraction(side: Side, box) -> float:
    """Area of the preimage of (0, 0) over the area of the input box (exact, from vertices)."""
    area = sum(shape_of(p.polyhedron).measure() for p in side.zero.set)
    return float(area / np.prod(box.widths))


def checks(data: Fig2Data) -> dict[str, bool]:
    box = data.domain
    out = {}
    L, R = data.left, data.right
    WL = [np.asarray(lay.dense_weight) for lay in L.net.layers]
    out["left: every layer is (a, b) = (1, 0) — W = I — and only the biases differ"] = bool(
        all(np.array_equal(Wk, np.eye(2)) for Wk in WL) and len({c for _, _, c in LEFT}) == len(LEFT))
    out["left: 3 layers, right: 6 layers, every weight circulant [[a, b], [b, a]]"] = bool(
        L.net.depth == 3 and R.net.depth == 6 and all(
            np.array_equal(lay.dense_weight, lay.dense_weight[::-1, ::-1]) for lay in R.net.layers))
    for name, side in (("left", L), ("right", R)):
        frac = zero_fraction(side, box)
        X = side.zero.set.sample(300, seed=8)
        out[f"{name}: the major part of the input ({frac:.0%}) is mapped to (0, 0) (area, and samples)"] = bool(
            frac > 0.5 and maps_to(side.net, X, [0.0, 0.0]))
        ok = True
        for p, T in zip(FLOW_STARTS, side.flows):  # each arrow is one layer's map: h_l = relu(W_l h_{l-1} + c_l)
            for lay, (a, b, c) in enumerate(side.params, start=1):
                ok &= bool(np.allclose(T[lay], np.maximum(np.array([[a, b], [b, a]]) @ T[lay - 1] + c, 0.0),
                                       atol=tolerances.ACTIVITY_ABSOLUTE))
            ok &= bool(np.array_equal(T[0], p))
        out[f"{name}: each dashed arrow maps h_(l-1)(p) to h_l(p) by layer l (its own 2×2 circulant)"] = ok
        Hs = []
        for s in side.flow.segments:  # boundary segments: the layer's pre-activation vanishes there
            mid = s.points.mean(axis=0)
            Hs.append(abs(side.net.pre_activations(mid, layer=s.layer)[s.node]))
        out[f"{name}: every drawn boundary segment lies where its layer's pre-activation is 0"] = bool(
            max(Hs) <= tolerances.ACTIVITY_ABSOLUTE)
    angles = cone_angles(RIGHT)
    closed = [float(np.arcsin(abs(a + b) / (np.hypot(a, b) * np.sqrt(2.0)))) for a, b, _ in RIGHT]
    wide = wider_layers(RIGHT)
    out["right: black = the layers whose cone angle exceeds its predecessor's "
        f"({', '.join(f'{np.degrees(t):.1f}°' for t in angles)}; orthant 45°): layers {list(wide)}"] = bool(
        np.allclose(angles, closed, atol=tolerances.ANGLE) and wide and len(wide) < len(RIGHT))
    radii = R.flow.radii
    out["right: the black (wider-cone) layers are those with a finite nesting radius −c/b; "
        "red layers have radius ∞"] = bool(
        all(np.all(np.isfinite(radii[k - 1])) == (k in wide) for k in range(1, len(RIGHT) + 1)))
    eps = tolerances.ACTIVITY_ABSOLUTE
    keeps, loses = True, False
    for T in R.flows:  # contraction: a nested layer never turns a zero coordinate positive (in [0, 2]²)
        for k in range(1, len(RIGHT) + 1):
            lost = bool(np.any((T[k - 1] <= eps) & (T[k] > eps)))
            if k in wide:
                loses |= lost
            else:
                keeps &= not lost
    out["right: along the flows, red (nested) layers keep every zero coordinate zero; black (wider) layers "
        "turn some zero positive (data beyond the nesting radius is transformed linearly)"] = bool(keeps and loses)
    out["left: along the flows the number of zero coordinates never decreases"] = bool(all(
        np.all(np.diff(np.count_nonzero(T <= eps, axis=1)) >= 0) for T in L.flows))
    out["left: every layer's cone has the orthant's angle (45°): none wider, all nested (radius ∞)"] = bool(
        not wider_layers(LEFT) and all(s.nested for s in L.flow.segments))
    return out


def _boundary_items(side: Side, criterion: bool) -> list:
    """Left: alternating red and blue per layer. Right (``criterion``): black for the layers
    whose cone is wider than its predecessor's, red for the others; orange crosses where a
    black layer's boundary reaches its nesting radius."""
    if not criterion:
        return flow_items(side.flow, mark_nesting=False, width=1.4)
    wide = set(wider_layers(side.params))
    red = [s.points for s in side.flow.segments if s.layer not in wide]
    black = [s.points for s in side.flow.segments if s.layer in wide]
    items: list = []
    if red:
        items.append(Lines(tuple(red), color=_style.RED, width=1.4,
                           label="layer boundary: cone nested in its predecessor's"))
    if black:
        items.append(Lines(tuple(black), color=_style.BLACK, width=1.4,
                           label="layer boundary: cone wider than its predecessor's"))
    marks = []
    for k in sorted(wide):
        segs = side.flow.by_layer(k)
        for a in segs:
            for b in segs:
                if a.nested and not b.nested and a.node == b.node:
                    for pa in a.points:
                        if np.min(np.linalg.norm(b.points - pa, axis=1)) <= tolerances.CONTAINS:
                            marks.append(pa)
    if marks:
        items.append(Markers(np.unique(np.round(np.array(marks), 12), axis=0), color=_style.ORANGE, size=40,
                             marker="x", label="nesting radius −c/b reached (wider cone cuts the input axes)"))
    return items


def _draw_flows(ax, side: Side) -> None:
    """The dashed per-layer contraction flows: from each start point ``p``, one arrow per layer
    ``h_(l-1)(p) → h_l(p)``, coloured by the layer (lighter to darker)."""
    from matplotlib import colormaps
    from matplotlib.lines import Line2D

    cmap = colormaps["viridis"]
    L = side.net.depth
    cols = [cmap(0.9 * (k - 1) / max(L - 1, 1)) for k in range(1, L + 1)]
    for T in side.flows:
        for k in range(1, L + 1):
            if np.linalg.norm(T[k] - T[k - 1]) <= tolerances.ACTIVITY_ABSOLUTE:
                continue
            ax.annotate("", xy=T[k], xytext=T[k - 1], zorder=5,
                        arrowprops={"arrowstyle": "-|>", "linestyle": "--", "color": cols[k - 1], "lw": 1.1,
                                    "shrinkA": 0, "shrinkB": 0, "mutation_scale": 9})
    P = np.array(FLOW_STARTS)
    ax.scatter(P[:, 0], P[:, 1], color="k", s=40, marker="*", zorder=6, label="flow start points p")
    for k in range(1, L + 1):  # legend proxies
        ax.add_line(Line2D([], [], color=cols[k - 1], ls="--", lw=1.1, label=f"flow: layer {k} maps h_{k - 1} → h_{k}"))


def _panel(ax, side: Side, box, title: str, criterion: bool) -> None:
    items = preimage_items(side.zero, color=_style.LIGHT_GREY, alpha=0.8, edgecolor="none",
                           label="mapped to (0, 0)")
    items += _boundary_items(side, criterion)
    render_matplotlib(items, ax)
    _draw_flows(ax, side)
    ax.set_xlim(box.lo[0], box.hi[0])
    ax.set_ylim(box.lo[1], box.hi[1])
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title, fontsize=10)


def figure_paper000_fig2(out_dir, *, dpi=None, formats=None, html_js: str = "inline") -> FigureResult:
    """Regenerate paper 000, Fig. 2 into ``out_dir`` (PNG, SVG and a caption ``.txt``)."""
    t0 = time.perf_counter()
    out = Output.make(out_dir, dpi, formats, html_js)
    data = compute()
    chk = checks(data)
    fig = new_figure(12.0, 7.6)
    ax, bx = fig.subplots(1, 2)
    _panel(ax, data.left, data.domain, "3 layers, (a, b) = (1, 0): only the bias differs", criterion=False)
    angles = ", ".join(f"{np.degrees(t):.0f}°" for t in cone_angles(RIGHT))
    _panel(bx, data.right, data.domain, f"6 layers, arbitrary circulant weights (cone angles {angles});\n"
           "black: the layer's cone is wider than its predecessor's", criterion=True)
    seen: dict = {}
    for a in (ax, bx):
        for h, lab in zip(*a.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    fig.legend(list(seen.values()), list(seen.keys()), fontsize=8, loc="outside lower center", ncols=4, frameon=False)
    fig.suptitle(TITLE, fontsize=11)
    paths = out.save_matplotlib(fig, NAME)
    wide = wider_layers(RIGHT)
    shown = f"""
Data in the 2-D input space [0, 2]² of two networks of 2-node circulant layers
x(l+1) = relu([[a, b], [b, a]] x(l) + c), contracted layer by layer. Every layer's boundaries
(where one of its two pre-activations is zero) are remapped to the input space. Light grey: the
exact preimage of the output (0, 0) — the major part of the input. Dashed arrows: the per-layer
contraction flows — from each start point p (black stars), the trajectory of its activity through
the layers, one arrow h_(l-1)(p) → h_l(p) per layer l (lighter to darker), all in the same plane
(every layer maps R²₊ to R²₊): points are pushed onto the axes and towards (0, 0).
Left: 3 bias-only layers (a, b) = (1, 0), boundaries in alternating red and blue (layer 1 red,
layer 2 blue, …). Right: 6 layers with arbitrary circulant weights, boundaries coloured by the
paper's criterion: black for the layers whose cone has a wider angle than its predecessor's (angles to the identity line
{', '.join(f'{np.degrees(t):.1f}°' for t in cone_angles(RIGHT))}, the input orthant's 45° before
layer 1: layers {', '.join(map(str, wide))} are wider), red for the others. Orange crosses: where a
black layer's boundary reaches that layer's nesting radius −c/b — its wider cone crosses the axes of
its input cone there, and beyond, zero inputs are no longer kept zero. Along the flows, the red
layers never turn a zero coordinate positive (contraction), the black layers do (data beyond the
nesting radius is just transformed linearly, the paper's "wasted" layers)."""
    weights = {"left (a, b, c) per layer": np.array(LEFT), "right (a, b, c) per layer": np.array(RIGHT),
               "right: cone angles (degrees)": np.degrees(cone_angles(RIGHT)),
               "input box": [[0.0, 0.0], [DOMAIN_HI, DOMAIN_HI]],
               "dashed flows: start points p": np.array(FLOW_STARTS)}
    return finish(out, NAME, TITLE, shown,
                  ["preimage.plotting.contraction_flow — layer boundaries via preimage.linear_regions of sub-networks",
                   "preimage.conv.circulant(...).angle — each layer's cone angle (the colouring criterion)",
                   "preimage.conv.row_nesting_radii — the nesting radius of each layer (orange crosses)",
                   "preimage.preimage(net, preimage.Activity([0, 0]), domain=Box) — the grey region",
                   "Network.activations(p, layer=l) — the dashed flows"],
                  weights, chk, {"data": data}, paths, t0)
