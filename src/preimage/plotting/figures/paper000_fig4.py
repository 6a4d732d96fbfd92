"""Paper 000, Fig. 4 — the piecewise-planar input manifold that a 3-node, 3-layer circulant
network maps onto an affine triangle.

    "Figure 4: Piecewise planar manifold in 3d input space that maps to affine manifold
    (blue triangle) at the final convolutional layer in a 3-node 3-layer network with
    circulant transformations. All data is remapped to the input space. Left: Red patches
    are mapped to 0 dimensional red points at the three output coordinate axis Blue patches
    are mapped to 1d lines connecting the points."

The manifold is the exact preimage of ``M ∩ R³₊``, ``M = {y1 + y2 + y3 = c}`` at the last layer
(:func:`preimage.conv.paper_fig4_pullback`, computed by :func:`preimage.conv.pullback` with the
engine): glued planar pieces, each coloured by the dimension of the part of the triangle it
maps to — red: a corner (0-D), blue: an edge (1-D), grey: the inside (2-D). Two views of the
input manifold, its image at layer 2 (each piece mapped by the network's affine map on it), and
at layer 3, where every piece lands on the blue triangle.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ... import tolerances
from .. import _style
from .._shapes import polygon_area, shape_of, shape_of_points
from ..scene import Lines, Markers, Patch, Scene
from ._common import FigureResult, Output, finish, save_scenes

__all__ = ["NAME", "C", "compute", "checks", "figure_paper000_fig4"]

NAME = "paper000_fig4"
TITLE = "Paper 000, Fig. 4: the piecewise-planar input manifold mapped onto an affine triangle"

#: ``M = {y : y1 + y2 + y3 = C}`` at layer 3.
C = 0.5
#: The input box ``[0, RADIUS]³``: large enough that the whole triangle is reached.
RADIUS = 2.0
#: Colours by the dimension of the part of the triangle a piece maps to.
DIM_COLOURS = {0: _style.RED, 1: _style.BLUE, 2: _style.GREY}
DIM_NAMES = {0: "mapped to a corner (0-D)", 1: "mapped to an edge (1-D)", 2: "mapped inside (2-D)"}


@dataclass(frozen=True)
class Fig4Data:
    net: object
    manifold: object  # PiecewiseAffineManifold


def compute() -> Fig4Data:
    from ...conv import paper_fig4_network, paper_fig4_pullback

    return Fig4Data(paper_fig4_network(), paper_fig4_pullback(c=C, radius=RADIUS))


def checks(data: Fig4Data) -> dict[str, bool]:
    from ...conv import circulant, nesting_radius
    from ...conv.pullback import PAPER_FIG4_LAYERS

    man, net = data.manifold, data.net
    eps = tolerances.ACTIVITY_ABSOLUTE
    out = {}
    out["3 layers of 3-node circulants, every cone completely nested (nesting radius ∞)"] = bool(
        net.depth == 3 and net.widths == (3, 3, 3, 3)
        and all(nesting_radius(circulant(k, 3, bias=b)).status == "unbounded" for k, b in PAPER_FIG4_LAYERS))
    out["the manifold is complete, piecewise planar (every piece 2-D) and connected along edges"] = bool(
        man.complete and all(p.dim == 2 for p in man) and man.is_connected())
    into, corner, edge, inside = True, True, True, True
    for k, p in enumerate(man):
        X = p.polyhedron.sample(60, seed=20 + k)
        Y = net.forward(np.vstack([X, p.polyhedron.vertices()]))
        into &= bool(np.all(np.abs(Y.sum(axis=1) - C) <= eps) and np.all(Y >= -eps))
        nz = np.count_nonzero(Y > eps, axis=1)
        if p.target_dim == 0:
            corner &= bool(np.all(nz == 1) and np.allclose(Y, Y[0], atol=eps) and abs(Y[0].max() - C) <= eps)
        elif p.target_dim == 1:
            edge &= bool(np.all(np.abs(Y[:, list(p.zero_outputs)]) <= eps) and p.image_dim == 1)
        else:
            inside &= bool(np.all(nz[: X.shape[0]] == 3) and p.image_dim == 2)
    out["every piece maps into the triangle y1 + y2 + y3 = c, y >= 0 (samples + forward pass)"] = into
    out["red pieces map to the three corners c·e_i (one point each)"] = corner
    out["blue pieces map onto edges of the triangle (one zero output, 1-D image)"] = edge
    out["grey pieces map inside the triangle (2-D image)"] = inside
    groups = man.by_target_dim()
    out["pieces of all three kinds exist: corners, edges, inside"] = sorted(groups) == [0, 1, 2]
    area = sum(polygon_area(shape_of_points(net.forward(man[i].polyhedron.vertices())).polygons[0])
               for i in groups.get(2, ()))
    tri = np.sqrt(3.0) / 2.0 * C ** 2
    segs = [shape_of_points(net.forward(man[i].polyhedron.vertices())).polygons[0] for i in groups.get(1, ())]
    covered = True
    for i in range(3):  # every point of every edge lies on the image of some blue piece
        a, b = C * np.eye(3)[i], C * np.eye(3)[(i + 1) % 3]
        for t in np.linspace(0.0, 1.0, 101):
            p = a + t * (b - a)
            covered &= any(_on_segment(p, S) for S in segs) or t in (0.0, 1.0)
    out["the images cover the whole triangle: the inside piece's area equals the triangle's, the edges are covered"] = (
        bool(abs(area - tri) <= tolerances.ACTIVITY_ABSOLUTE and covered)
    )
    return out


def _on_segment(p: np.ndarray, S: np.ndarray) -> bool:
    d = S[1] - S[0]
    t = float(np.clip((p - S[0]) @ d / (d @ d), 0.0, 1.0))
    return bool(np.linalg.norm(S[0] + t * d - p) <= tolerances.ACTIVITY_ABSOLUTE)


def _items(data: Fig4Data, layer: int) -> list:
    man, net = data.manifold, data.net
    items: list = []
    by = man.by_target_dim()
    for d in sorted(by):
        polys, segs, pts = [], [], []
        for i in by[d]:
            V = man[i].polyhedron.vertices()
            shp = shape_of(man[i].polyhedron) if layer == 0 else shape_of_points(net.activations(V, layer=layer))
            (polys if shp.kind == "polygon" else segs if shp.kind == "segment" else pts).append(shp.polygons[0])
        col, name = DIM_COLOURS[d], DIM_NAMES[d]
        if polys:
            items.append(Patch(tuple(polys), color=col, alpha=0.55 if layer == 0 else 0.45, edgecolor="k",
                               linewidth=0.3, label=name))
        if segs:
            items.append(Lines(tuple(segs), color=col, width=3.0, label=None if polys else name))
        if pts:
            items.append(Markers(np.vstack(pts), color=col, size=60, label=None if (polys or segs) else name))
    if layer == net.depth:
        tri = C * np.eye(3)
        items.insert(0, Patch((tri,), color=_style.LIGHT_BLUE, alpha=0.35, edgecolor=_style.BLUE, linewidth=1.0,
                              label="the affine output manifold M ∩ R³₊ (triangle)"))
    return items


def figure_paper000_fig4(out_dir, *, dpi=None, formats=None, html_js: str = "inline") -> FigureResult:
    """Regenerate paper 000, Fig. 4 into ``out_dir`` (PNG, SVG, interactive HTML, caption ``.txt``)."""
    from ...conv.pullback import PAPER_FIG4_LAYERS

    t0 = time.perf_counter()
    out = Output.make(out_dir, dpi, formats, html_js)
    data = compute()
    chk = checks(data)
    Vin = np.vstack([p.polyhedron.vertices() for p in data.manifold])
    lo, hi = Vin.min(axis=0), Vin.max(axis=0)  # zoom on the manifold (the box is [0, RADIUS]³)
    inp = tuple(_items(data, 0))
    l2 = tuple(_items(data, 2))
    l3 = tuple(_items(data, 3))
    H2 = np.vstack([data.net.activations(p.polyhedron.vertices(), layer=2) for p in data.manifold])
    scenes = [
        Scene(inp, "input manifold, view 1", lo, hi, elev=25, azim=-60),
        Scene(inp, "input manifold, view 2", lo, hi, elev=20, azim=30),
        Scene(l2, "its image at layer 2", np.zeros(3), np.full(3, float(H2.max()) * 1.05),
              axis_labels=("h1", "h2", "h3"), elev=25, azim=45),
        Scene(l3, "layer 3: onto the triangle", np.zeros(3), np.full(3, C * 1.1),
              axis_labels=("y1", "y2", "y3"), elev=25, azim=45),
    ]
    paths = save_scenes(out, NAME, scenes, TITLE, (17.0, 5.6), legend_scene=3)
    man = data.manifold
    shown = f"""
The 3-node, 3-layer circulant ReLU network of the paper's Fig. 4 and the affine manifold
M = {{y1 + y2 + y3 = {C}}} at its last layer, which cuts the output orthant in a triangle (blue).
Its exact preimage in the input box [0, {RADIUS:g}]³ is a piecewise-planar manifold of {len(man)} glued planar
pieces (first two panels, two views): red pieces are mapped to the triangle's three corners on the
output coordinate axes (0-D), blue pieces to its edges (1-D), the grey piece onto its inside (2-D).
Third panel: the same pieces at layer 2 (each mapped by the network's affine map on it); fourth:
at layer 3, where they land exactly on the triangle — red on the corners, blue on the edges, grey
covering the inside."""
    weights: dict = {}
    for k, (kern, b) in enumerate(PAPER_FIG4_LAYERS, start=1):
        weights[f"layer {k} circulant kernel"] = np.array(kern)
        weights[f"layer {k} bias"] = b
        weights[f"layer {k} W"] = np.asarray(data.net.layers[k - 1].dense_weight)
    weights["M"] = f"y1 + y2 + y3 = {C}"
    weights["input box"] = [lo.tolist(), hi.tolist()]
    return finish(out, NAME, TITLE, shown,
                  ["preimage.conv.paper_fig4_network / paper_fig4_pullback (preimage.conv.pullback, "
                   "preimage.preimage with an AffineSubspace target) — the manifold, its pieces and gluings",
                   "Network.activations of each piece's vertices — its images at layers 2 and 3"],
                  weights, chk, {"data": data}, paths, t0)
