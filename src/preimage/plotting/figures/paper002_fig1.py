"""Paper 002, Fig. 1 — one 2-node layer and the preimages of points in each output quadrant.

    "For the all-positive quadrant in the output the mapping is unique and the preimage is
    just the corresponding input. The dashed lines in the two other quadrants illustrate the
    preimage for the case of points on the lines x1(l+1) = 0 and x2(l+1) = 0 respectively.
    The grey area in the last quadrant indicate points that all get mapped to the origin
    (0, 0) of the (x1(l+1), x2(l+1)) coordinate system."

Left: the input space of the layer with its two hyperplanes Π1, Π2 (:func:`preimage.hyperplanes`),
the skewed output frame — the output axes run along the dual basis e1, e2 from the apex
(:func:`preimage.dual_basis`), with the level lines ``y_i = 1, 2, …`` — and the exact
preimages (:func:`preimage.layer_preimage`) of one output point per quadrant: a point, two
rays (dashed) and the grey region mapped to (0, 0). Right: the output space with the four points.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ... import tolerances
from .. import _style
from ..geometry import dual_basis_items, hyperplane_items
from ..preimages import preimage_items
from ..scene import Label, Lines, Markers, render_matplotlib
from ._common import FigureResult, Output, finish, maps_to, new_figure

__all__ = ["NAME", "W", "B", "OUTPUTS", "view_box", "Fig1Data", "compute", "checks", "figure_paper002_fig1"]

NAME = "paper002_fig1"
TITLE = "Paper 002, Fig. 1: one 2-node layer, its skewed output frame and the preimages of each quadrant"

#: The layer ``x(l+1) = relu(W x(l) + b)``: rows not orthogonal, so the output frame is skewed.
W = np.array([[1.0, 0.45], [-0.35, 1.0]])
B = np.array([-0.6, -0.4])

#: One output point per quadrant: (+, +), (+, 0), (0, +), (0, 0).
OUTPUTS = {
    "(+,+)": np.array([1.1, 0.9]),
    "(+,0)": np.array([1.4, 0.0]),
    "(0,+)": np.array([0.0, 1.5]),
    "(0,0)": np.array([0.0, 0.0]),
}
COLOURS = {"(+,+)": _style.BLACK, "(+,0)": _style.RED, "(0,+)": _style.BLUE, "(0,0)": _style.GREY}

#: The part of the input plane drawn (the preimages are cut to it).
VIEW_LO, VIEW_HI = np.array([-2.5, -2.5]), np.array([3.0, 3.0])


def view_box():
    """The drawn part of the input plane, as a Box."""
    from ...polyhedra import Box

    return Box(VIEW_LO, VIEW_HI)


@dataclass(frozen=True)
class Fig1Data:
    """The computed objects of the figure."""

    net: object
    preimages: dict  # quadrant -> LayerPreimage (on all of R^2)
    dual: object  # DualBasis
    view: object


def compute() -> Fig1Data:
    import preimage

    net = preimage.Network.from_arrays([(W, B, True)])
    pre = {q: preimage.layer_preimage(W, B, y, domain=None) for q, y in OUTPUTS.items()}
    return Fig1Data(net, pre, preimage.dual_basis(W, B), view_box())


def checks(data: Fig1Data) -> dict[str, bool]:
    """The figure's claims, checked: dimensions 0, 1, 1, 2 and forward passes onto each point."""
    view = data.view
    out = {}
    dims = {q: P.dim for q, P in data.preimages.items()}
    out["preimage dimensions are 0, 1, 1, 2 for (+,+), (+,0), (0,+), (0,0)"] = (
        [dims[q] for q in OUTPUTS] == [0, 1, 1, 2])
    for q, y in OUTPUTS.items():
        cut = data.preimages[q].polyhedron.intersect(view)
        X = cut.sample(200, seed=1)
        out[f"points sampled from the preimage of {q} = {y.tolist()} map to it"] = maps_to(data.net, X, y)
    grid = view.sample(4000, seed=2)
    zero = np.all(grid @ W.T + B <= 0, axis=1)
    grey = data.preimages["(0,0)"].contains(grid)
    out["the grey region is exactly the inputs mapped to (0, 0) (4000 samples of the view)"] = bool(
        np.array_equal(zero, grey))
    E = data.dual.vectors
    out["dual basis: W e_i = δ_i and the apex lies on Π1 and Π2"] = bool(
        np.allclose(W @ E, np.eye(2), atol=tolerances.ACTIVITY_ABSOLUTE)
        and np.allclose(W @ data.dual.apex + B, 0.0, atol=tolerances.ACTIVITY_ABSOLUTE))
    return out


def _frame_items(data: Fig1Data) -> list:
    """The skewed output frame: axes along e1, e2 from the apex and level lines y_i = k."""
    from ...polyhedra import Polyhedron
    from .._shapes import shape_of

    view = data.view
    items: list = []
    axes = []
    for i in range(2):  # the y_i axis: y_j = 0 (on Π_j), y_i >= 0
        j = 1 - i
        ray = Polyhedron(-W[i:i + 1], B[i:i + 1], W[j:j + 1], -B[j:j + 1])
        shp = shape_of(ray, view)
        if shp.kind == "segment":
            axes.append(shp.polygons[0])
    # level lines y_i = k inside the all-positive cell
    levels = []
    for i in range(2):
        j = 1 - i
        for k in (0.5, 1.0, 1.5, 2.0, 2.5, 3.0):
            line = Polyhedron(-W[j:j + 1], B[j:j + 1], W[i:i + 1], [k - B[i]])
            shp = shape_of(line, view)
            if shp.kind == "segment":
                levels.append(shp.polygons[0])
    items.append(Lines(tuple(levels), color=_style.LIGHT_GREY, width=0.7, label="level lines y_i = 0.5, 1, …"))
    items.append(Lines(tuple(axes), color="k", width=1.0, label="output axes (y_j = 0, y_i >= 0)"))
    items.extend(dual_basis_items(W, B, labels=True))
    # the sign pattern of each quadrant of the input plane, at its Chebyshev centre
    for q in OUTPUTS:
        signs = [s == "+" for s in q.strip("()").split(",")]
        rows = np.where(np.array(signs)[:, None], -W, W)
        rhs = np.where(signs, B, -B)
        centre, _ = Polyhedron(rows, rhs).intersect(view).chebyshev_center()
        if centre is not None:
            items.append(Label(centre, q, color=_style.DARK_GREY, size=11))
    return items


def figure_paper002_fig1(out_dir, *, dpi=None, formats=None, html_js: str = "inline") -> FigureResult:
    """Regenerate paper 002, Fig. 1 into ``out_dir`` (PNG, SVG and a caption ``.txt``)."""
    t0 = time.perf_counter()
    out = Output.make(out_dir, dpi, formats, html_js)
    data = compute()
    chk = checks(data)
    view = data.view
    fig = new_figure(10.0, 4.9)
    ax, bx = fig.subplots(1, 2, width_ratios=[1.35, 1.0])
    items = _frame_items(data)
    items += hyperplane_items(W, B, view, width=2.0)
    for q, P in data.preimages.items():
        col = COLOURS[q]
        label = f"P(y), y = {tuple(OUTPUTS[q].tolist())}"
        if q == "(0,0)":
            items += preimage_items(P, view=view, color=col, alpha=0.45, edgecolor="none", label=label)
        elif P.dim == 1:
            items += [Lines(it.paths, color=col, width=2.2, style="--", label=label)
                      for it in preimage_items(P, view=view, color=col)]
        else:
            items += preimage_items(P, view=view, color=col, label=label)
    apex = data.dual.apex
    items.append(Markers(apex, color="k", size=18))
    items.append(Label(apex + np.array([0.08, -0.25]), "apex  x* (y = 0)", size=8))
    render_matplotlib(items, ax)
    ax.set_xlim(VIEW_LO[0], VIEW_HI[0])
    ax.set_ylim(VIEW_LO[1], VIEW_HI[1])
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1^{(l)}$")
    ax.set_ylabel("$x_2^{(l)}$")
    ax.set_title("input of the layer: hyperplanes, skewed output frame, preimages", fontsize=10)
    ax.legend(fontsize=7, loc="lower right", framealpha=0.9)
    # the output space
    for q, y in OUTPUTS.items():
        bx.scatter([y[0]], [y[1]], color=COLOURS[q], s=60, zorder=3, edgecolor="k", label=f"y = {tuple(y.tolist())}")
    bx.axhline(0, color=_style.node_colour(1), lw=2)
    bx.axvline(0, color=_style.node_colour(0), lw=2)
    bx.set_xlim(-0.3, 2.0)
    bx.set_ylim(-0.3, 2.0)
    bx.set_aspect("equal")
    bx.set_xlabel("$x_1^{(l+1)}$ (zero on Π1)")
    bx.set_ylabel("$x_2^{(l+1)}$ (zero on Π2)")
    bx.set_title("output of the layer: one point per quadrant", fontsize=10)
    bx.legend(fontsize=7, loc="upper right")
    fig.suptitle(TITLE, fontsize=11)
    paths = out.save_matplotlib(fig, NAME)
    shown = """
One 2-node rectifier layer x(l+1) = relu(W x(l) + b). Left, in the layer's input plane: the
hyperplanes Π1, Π2 (w_i·x + b_i = 0); the skewed output coordinate frame — its axes are the rays
from the apex x* along the dual basis vectors e1, e2 (w_j·e_i = δ_ij; the y1 axis lies on Π2 and the
y2 axis on Π1), with the level lines y_i = 0.5, 1, … inside the all-positive quadrant; and the exact
preimages of four output points, one per quadrant: (+,+) a single point, (+,0) and (0,+) rays
(dashed) running from the translated hyperplanes into the negative side of the zero output, and
(0,0) the grey quadrant of inputs that all get mapped to the origin. Right: the four output points.
Unbounded preimages are drawn inside the view box."""
    return finish(out, NAME, TITLE, shown,
                  ["preimage.layer_preimage(W, b, y, domain=None) — the preimages",
                   "preimage.hyperplanes / preimage.dual_basis — Π_i, e_i, apex",
                   "preimage.Polyhedron.intersect(Box).vertices() — every drawn set"],
                  {"W": W, "b": B, **{f"y{q}": y for q, y in OUTPUTS.items()}}, chk,
                  {"data": data}, paths, t0)
