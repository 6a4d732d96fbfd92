"""Paper 000, Fig. 2 — contraction flows of 2-node circulant networks with 3 and 6 layers.

    "Figure 2 illustrates the mapping of data from the input space (x1, x2) to the output
    space (y1, y2) for two networks with 3 and 6 layers respectively. [...] Note that in
    both layers the major part of the input domain is mapped to output (0, 0). This is
    illustrated for the first trivial bias only layer with a = 1, b = 0. [...] The red lines
    represent data that is associated with layer cones that are completely nested inside
    its predecessors, while the black lines represent data where the succeeding cone has a
    wider angle than its predecessor."

Each layer is ``x(l+1) = relu([[a, b], [b, a]] x(l) + c)``. For every layer, its boundaries —
where one of its pre-activations is zero — are remapped to the input space exactly
(:func:`~preimage.plotting.contraction_flow`: on each activation region of the layers before,
from :func:`preimage.linear_regions`, the boundary is a segment) and drawn in alternating red and
blue. On the right, the parts where the activity entering the layer reaches the layer's nesting
radius ``−c/b`` (:func:`preimage.conv.row_nesting_radii`) are black: there the layer's wider cone
crosses the axes of its input cone, and beyond, zeros are no longer preserved. Grey: the exact
preimage of the output (0, 0); dashed: preimages of points on the output axes, traced through
all layers.
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
from ..scene import Lines, render_matplotlib
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
#: final-layer activities on the output axes whose preimages are drawn dashed
FLOW_TARGETS = (np.array([0.06, 0.0]), np.array([0.0, 0.06]), np.array([0.18, 0.0]), np.array([0.0, 0.18]))


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
    flows: tuple  # PreimageResults of FLOW_TARGETS


@dataclass(frozen=True)
class Fig2Data:
    left: Side
    right: Side
    domain: object


def _side(params, box) -> Side:
    import preimage

    net = network(params)
    zero = preimage.preimage(net, preimage.Activity([0.0, 0.0]), domain=box)
    flows = tuple(preimage.preimage(net, preimage.Activity(y), domain=box) for y in FLOW_TARGETS)
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
        ok = all(
            res.complete
            and len(res.set) > 0
            and maps_to(side.net, res.set.sample(40 * max(len(res.set), 1), seed=9), y)
            for res, y in zip(side.flows, FLOW_TARGETS)
        )
        out[f"{name}: the dashed flows are the exact preimages of their output points"] = ok
        Hs = []
        for s in side.flow.segments:  # boundary segments: the layer's pre-activation vanishes there
            mid = s.points.mean(axis=0)
            Hs.append(abs(side.net.pre_activations(mid, layer=s.layer)[s.node]))
        out[f"{name}: every drawn boundary segment lies where its layer's pre-activation is 0"] = bool(
            max(Hs) <= tolerances.ACTIVITY_ABSOLUTE)
    nested = [s for s in R.flow.segments if s.nested]
    beyond = [s for s in R.flow.segments if not s.nested]
    ok = bool(nested and beyond)
    for s in beyond:  # the activity entering the layer has a coordinate beyond the nesting radius
        h = R.net.activations(s.points.mean(axis=0), layer=s.layer - 1)
        ok &= bool(np.max(h) >= s.radius - tolerances.ACTIVITY_ABSOLUTE)
    for s in nested:
        h = R.net.activations(s.points.mean(axis=0), layer=s.layer - 1)
        ok &= bool(np.max(h) <= s.radius + tolerances.ACTIVITY_ABSOLUTE)
    out["right: nested parts (activity below the nesting radius −c/b) and parts at or beyond it both occur"] = ok
    out["left: every layer's cone is completely nested (radius ∞)"] = all(
        s.nested for s in L.flow.segments)
    return out


def _panel(ax, side: Side, box, title: str, mark: bool) -> None:
    items = preimage_items(side.zero, color=_style.LIGHT_GREY, alpha=0.8, edgecolor="none",
                           label="mapped to (0, 0)")
    items += flow_items(side.flow, mark_nesting=mark, width=1.4)
    for res, y in zip(side.flows, FLOW_TARGETS):
        segs = tuple(it for it in preimage_items(res, color="k") if isinstance(it, Lines))
        for k, it in enumerate(segs):
            items.append(
                Lines(
                    it.paths,
                    color=_style.DARK_GREY,
                    width=1.2,
                    style="--",
                    label="preimages of points on the output axes" if (k == 0 and y is FLOW_TARGETS[0]) else None,
                )
            )
    render_matplotlib(items, ax)
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
    fig = new_figure(12.0, 7.0)
    ax, bx = fig.subplots(1, 2)
    _panel(ax, data.left, data.domain, "3 layers, (a, b) = (1, 0): only the bias differs", mark=False)
    _panel(bx, data.right, data.domain, "6 layers, arbitrary circulant weights; black: not nested", mark=True)
    seen: dict = {}
    for a in (ax, bx):
        for h, lab in zip(*a.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    fig.legend(list(seen.values()), list(seen.keys()), fontsize=8, loc="outside lower center", ncols=3, frameon=False)
    fig.suptitle(TITLE, fontsize=11)
    paths = out.save_matplotlib(fig, NAME)
    shown = """
Data in the 2-D input space [0, 2]² of two networks of 2-node circulant layers
x(l+1) = relu([[a, b], [b, a]] x(l) + c), contracted layer by layer. Every layer's boundaries
(where one of its two pre-activations is zero) are remapped to the input space and drawn in
alternating red and blue (layer 1 red, layer 2 blue, …). Light grey: the exact preimage of the
output (0, 0) — the major part of the input. Dashed: preimages of points on the two output axes
traced back through all layers (contraction flows). Left: 3 bias-only layers (a, b) = (1, 0).
Right: 6 layers with arbitrary circulant weights; boundary parts where the activity entering the
layer reaches that layer's nesting radius −c/b are drawn in black — the paper's "not nested": for
b > 0 the layer's wider cone crosses the axes of its input cone at h_j = −c/b (the black curves,
remapped to the input), and beyond them zero inputs are no longer kept zero — data is just
transformed linearly."""
    weights = {"left (a, b, c) per layer": np.array(LEFT), "right (a, b, c) per layer": np.array(RIGHT),
               "input box": [[0.0, 0.0], [DOMAIN_HI, DOMAIN_HI]],
               "dashed: final activities": np.array(FLOW_TARGETS)}
    return finish(out, NAME, TITLE, shown,
                  ["preimage.plotting.contraction_flow — layer boundaries via preimage.linear_regions of sub-networks",
                   "preimage.conv.row_nesting_radii — the nesting radius of each layer",
                   "preimage.preimage(net, preimage.Activity(y), domain=Box) — grey region and dashed flows"],
                  weights, chk, {"data": data}, paths, t0)
