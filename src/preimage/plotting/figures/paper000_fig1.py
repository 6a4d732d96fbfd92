"""Paper 000, Fig. 1 — the preimage of an output through 3 planes, and the cone of a circulant layer.

    "Figure 1: Left: 3 planes in general position and the preimage (red) of the output
    (black dot) e2 and e3 components of dual basis used to generate preimage. Right:
    Polyhedral cone of 3 planes from a circulant layer transformation matrix. (two different
    views) The nesting property of the cone will refer to it's ability to 'grip' the
    coordinate axis of the input space."

Left: a layer with 3 planes in general position and an output ``y`` with ``y1 > 0``,
``y2 = y3 = 0``: the positive output constraint hyperplane ``Π1* = {w1·x + b1 = y1}``, the
planes Π2, Π3, the negative output constraint polytope ``X⁻ ∩ R³₊``, the unique element ``x*``
(black dot) and the preimage ``P(y) = Π1* ∩ X⁻ ∩ R³₊`` (red, eq. 9) spanned from ``x*`` by
``−e2, −e3`` (eq. 15) — from :func:`preimage.layer_preimage` and :func:`preimage.dual_basis`.
Right: the regular polyhedral cone of a circulant layer (:func:`preimage.conv.circulant`): its
three planes around the identity line, apex ``−(b/a)·1``, the cell ``{C x + b >= 0}`` with its
edges along the dual basis, and the coordinate axes it grips; two views.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ... import tolerances
from .. import _style
from .._shapes import shape_of
from ..geometry import cone_items, dual_basis_items, hyperplane_items
from ..preimages import preimage_items
from ..scene import Lines, Markers, Patch, Scene
from ._common import FigureResult, Output, finish, maps_to, save_scenes, scenes_figure

__all__ = ["NAME", "W", "B", "Y", "KERNEL", "BIAS", "compute", "checks", "figure_paper000_fig1"]

NAME = "paper000_fig1"
TITLE = "Paper 000, Fig. 1: preimage of an output through 3 planes; the polyhedral cone of a circulant layer"

#: Left: a layer with planes in general position (not circulant).
W = np.array([[1.0, 0.35, 0.25], [0.3, 1.0, 0.5], [0.45, 0.2, 1.0]])
B = np.array([-1.0, -1.3, -1.2])
#: the output: y1 > 0, y2 = y3 = 0.
Y = np.array([0.6, 0.0, 0.0])
LEFT_HI = np.array([2.2, 2.2, 2.2])

#: Right: the circulant layer (kernel on 3 nodes, uniform bias); negative off-diagonal taps.
KERNEL = np.array([1.0, -0.3, -0.2])
BIAS = -1.0
RIGHT_HI = np.array([4.5, 4.5, 4.5])


@dataclass(frozen=True)
class Fig1Data:
    net: object
    preimage: object  # LayerPreimage on the orthant
    dual: object  # DualBasis of the left layer for y (apex x*)
    negative_polytope: object  # X⁻ ∩ R³₊ as a Polyhedron
    circulant: object  # CirculantLayer
    cone: object  # ConeGeometry


def compute() -> Fig1Data:
    import preimage

    from ...conv import circulant, cone_geometry

    net = preimage.Network.from_arrays([(W, B, True)])
    P = preimage.layer_preimage(W, B, Y, domain="orthant")
    zero = Y == 0
    Xneg = preimage.Polyhedron(W[zero], -B[zero]).intersect(preimage.Polyhedron.orthant(3))
    layer = circulant(KERNEL, 3, bias=BIAS)
    return Fig1Data(net, P, preimage.dual_basis(W, B, Y), Xneg, layer, cone_geometry(layer))


def checks(data: Fig1Data) -> dict[str, bool]:
    eps = tolerances.ACTIVITY_ABSOLUTE
    P, x = data.preimage, data.dual.apex
    E = data.dual.vectors
    out = {}
    out["x* is the unique point of Π1*, Π2, Π3 (w1·x* + b1 = y1, w2·x* + b2 = w3·x* + b3 = 0)"] = bool(
        np.allclose(W @ x + B, Y, atol=eps))
    out["the preimage is 2-D, bounded, contains x* and maps onto y (samples + forward pass)"] = bool(
        P.dim == 2 and P.polyhedron.is_bounded() and P.contains(x)
        and maps_to(data.net, P.sample(300, seed=7), Y))
    hull = P.polyhedron.affine_hull().basis
    spans = all(np.linalg.norm(E[:, i] - hull @ (hull.T @ E[:, i])) <= tolerances.CONTAINS for i in (1, 2))
    out["the preimage is spanned from x* by −e2, −e3 (eq. 15): x* − α e2, x* − α e3 inside for small α > 0"] = bool(
        spans and P.contains(x - 0.1 * E[:, 1]) and P.contains(x - 0.1 * E[:, 2])
        and not P.contains(x + 0.1 * E[:, 1]) and not P.contains(x + 0.1 * E[:, 2]))
    layer, g = data.circulant, data.cone
    C = np.asarray(layer.dense())
    apex = np.asarray(layer.apex)
    out["circulant cone: the apex lies on all three planes and on the identity line, at −(b/a)·1"] = bool(
        np.allclose(C @ apex + layer.bias, 0.0, atol=eps) and np.allclose(apex, apex[0])
        and abs(apex[0] + layer.bias / layer.kernel_sum) <= eps)
    out["circulant cone: the cyclic shift maps each plane onto the next (regular cone)"] = bool(g.symmetry.holds)
    out["circulant cone: the planes grip the coordinate axes — completely nested (nesting radius ∞)"] = (
        g.nesting.status == "unbounded")
    return out


def _left_items(data: Fig1Data, view) -> list:
    x = data.dual.apex
    items = hyperplane_items(W, B, view, offsets=Y, alpha=0.13,
                             labels=["Π1*", "Π2", "Π3"],
                             colors=(_style.GREEN, _style.BLUE, _style.PURPLE))
    shp = shape_of(data.negative_polytope, view)
    if shp.kind == "polytope":
        items.append(Patch(shp.polygons, color=_style.LIGHT_GREY, alpha=0.18, edgecolor=_style.GREY, linewidth=0.6,
                           label="negative output constraint polytope X⁻ ∩ R³₊"))
    items += preimage_items(data.preimage, view=view, color=_style.RED, alpha=0.75, label="preimage P(y)")
    items.append(Markers(x, color="k", size=40, label="output x*"))
    items += dual_basis_items(
        W, B, Y, negative=True, which=(1, 2), scale=_arrow_scale(data, view), colors=(None, _style.BLUE, _style.PURPLE)
    )
    return items


def _arrow_scale(data: Fig1Data, view, most: float = 0.9, margin: float = 0.08) -> float:
    """The largest arrow scale (at most ``most``) at which the arrows −e2, −e3 from x* and their
    labels (at 1.08 × the arrow) stay inside the view box (the components point out of the
    orthant, so full-length arrows would carry their labels out of the axes)."""
    x = np.asarray(data.dual.apex)
    E = np.asarray(data.dual.vectors)
    lo, hi = np.asarray(view.lo) + margin, np.asarray(view.hi) - margin
    scale = most
    for i in (1, 2):
        v = -1.08 * E[:, i]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(v < 0, (lo - x) / v, np.where(v > 0, (hi - x) / v, np.inf))
        scale = min(scale, float(np.min(t)))
    return scale


def _right_items(data: Fig1Data, view) -> list:
    items = cone_items(data.circulant, view, alpha=0.16, cell_color=_style.ORANGE)
    hi = view.hi
    axes = tuple(np.vstack([np.zeros(3), hi[i] * np.eye(3)[i]]) for i in range(3))
    items.append(Lines(axes, color="k", width=2.5, label="coordinate axes"))
    return items


#: The matplotlib figure's size (inches).
SIZE = (15.0, 6.4)


def scenes(data) -> list:
    """The three 3-D scenes (left: 3 planes and the preimage; right: the cone, two views)."""
    import preimage

    lview = preimage.Box(np.zeros(3), LEFT_HI)
    rview = preimage.Box(np.zeros(3), RIGHT_HI)
    left = tuple(_left_items(data, lview))
    right = tuple(_right_items(data, rview))
    return [
        Scene(left, "3 planes, the output x* and its preimage (red)", lview.lo, lview.hi, elev=24, azim=30,
              extra={"zoom": 0.9}),
        Scene(right, "circulant cone, view 1", rview.lo, rview.hi, elev=24, azim=-60),
        Scene(right, "circulant cone, view 2 (along the identity line)", rview.lo, rview.hi, elev=35.26, azim=45),
    ]


def matplotlib_figure(data):
    """The figure as drawn into the PNG and SVG."""
    return scenes_figure(scenes(data), TITLE, SIZE, legend_scene=0)


def figure_paper000_fig1(out_dir, *, dpi=None, formats=None, html_js: str = "inline") -> FigureResult:
    """Regenerate paper 000, Fig. 1 into ``out_dir`` (PNG, SVG, interactive HTML, caption ``.txt``)."""
    t0 = time.perf_counter()
    out = Output.make(out_dir, dpi, formats, html_js)
    data = compute()
    chk = checks(data)
    paths = save_scenes(out, NAME, scenes(data), TITLE, SIZE, legend_scene=0)
    shown = f"""
Left: a layer y = relu(W x + b) with three planes in general position and the output
y = {tuple(Y.tolist())} (y1 > 0, y2 = y3 = 0), in the input orthant. Green: the positive output
constraint hyperplane Π1* = {{w1·x + b1 = y1}}; blue, purple: Π2, Π3; grey: the negative output
constraint polytope X⁻ ∩ R³₊ = {{w2·x + b2 <= 0, w3·x + b3 <= 0, x >= 0}}; black dot: the output
element x* = Π1* ∩ Π2 ∩ Π3; red: the preimage P(y) = Π1* ∩ X⁻ ∩ R³₊ (eq. 9), spanned from x* by
the dual basis components −e2, −e3 (arrows, eq. 15). Middle and right: two views of the regular
polyhedral cone of the circulant layer with kernel {KERNEL.tolist()} and bias {BIAS}: its three
planes around the identity line (dashed), the apex −(b/a)·1 = {float(-BIAS / KERNEL.sum()):g}·1, the cell
C x + b >= 0 (orange) whose edges run along e1, e2, e3, and the coordinate axes (black) that the
nested cone grips."""
    return finish(out, NAME, TITLE, shown,
                  ["preimage.layer_preimage(W, b, y, domain='orthant') — the red preimage",
                   "preimage.dual_basis(W, b, y) — x* and e2, e3",
                   "preimage.conv.circulant / cone_geometry — the cone, apex, symmetry, nesting radius"],
                  {"W": W, "b": B, "y": Y, "circulant kernel": KERNEL, "circulant bias": BIAS}, chk,
                  {"data": data}, paths, t0)
