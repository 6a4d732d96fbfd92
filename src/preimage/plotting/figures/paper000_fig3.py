"""Paper 000, Fig. 3 — how cells of a 3-node circulant layer map to output intersection subspaces.

    "Figure 3: Illustration of how data maps between intersection subspaces in two successive
    layers of 3 node networks with circulant transformations Left: Identity transformation
    and bias only. [...] The figure illustrates how two different cells, dark grey and light
    grey are mapped to red 2d plane and red 1d line in the output layer. Note that both 3d
    volume, 2d faces and 1d edges maps to the same output intersection subspace. [...]
    Right The transformation is now such that the angle of the cone is increased. The
    planes of the output layer now intersects the coordinate axis of the input space.
    Beyond the intersections the non increasing contraction property ceases. The dark gray
    areas indicate preimages of points located on the output 1-d coordinate axis. Note how
    they are decreases in size between the left and right examples."

Left: ``W = I``, bias only (:func:`preimage.conv.paper_fig3_identity`); right: the wider cone of
the circulant kernel (1, ¼, ¼) (:func:`preimage.conv.paper_fig3_wide_cone`). The cells and the
output intersection subspaces they map to come from :func:`preimage.conv.cell_map`; a light
grey cell (one negative constraint) and a dark grey cell (two) are drawn with their images
(red: a polygon on a coordinate plane and a segment on a coordinate axis, the cells' vertices
mapped by the layer). Black: the exact preimage (:func:`preimage.layer_preimage` in the box) of a
point on the output's first axis, spanned by ``−e2, −e3``. Orange: the coordinate faces where
contraction fails (right), beyond the points where the planes cut the coordinate axes (dots).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ... import tolerances
from .. import _style
from .._shapes import shape_of, shape_of_points
from ..geometry import dual_basis_items, hyperplane_items
from ..preimages import preimage_items
from ..scene import Label, Lines, Markers, Patch, Scene
from ._common import FigureResult, Output, finish, maps_to, save_scenes, scenes_figure

__all__ = ["NAME", "LIGHT", "DARK", "Y_AXIS_POINT", "compute", "checks", "axis_intersections", "figure_paper000_fig3"]

NAME = "paper000_fig3"
TITLE = "Paper 000, Fig. 3: cells of a 3-node circulant layer mapped to output intersection subspaces"

#: The activation patterns of the drawn cells: light grey (one negative constraint), dark grey (two).
LIGHT = (True, True, False)
DARK = (True, False, False)
#: A point on the output's first coordinate axis, whose preimage is drawn.
Y_AXIS_POINT = np.array([0.3, 0.0, 0.0])


@dataclass(frozen=True)
class Side:
    cells: object  # CellMap
    net: object
    light: object  # Cell
    dark: object  # Cell
    axis_preimage: object  # LayerPreimage in the box


@dataclass(frozen=True)
class Fig3Data:
    identity: Side
    wide: Side
    nested_box: object  # CellMap of the wide cone on [0, R]^3, R its nesting radius


def _side(cm) -> Side:
    import preimage

    net = preimage.Network.from_arrays([(cm.weight, cm.bias, True)])
    cell = {tuple(bool(v) for v in c.pattern): c for c in cm.cells}
    P = preimage.layer_preimage(cm.weight, cm.bias, Y_AXIS_POINT, domain=cm.domain)
    return Side(cm, net, cell[LIGHT], cell[DARK], P)


def compute() -> Fig3Data:
    import preimage

    from ...conv import cell_map, circulant, nesting_radius, paper_fig3_identity, paper_fig3_wide_cone

    wide = paper_fig3_wide_cone()
    R = nesting_radius(circulant(np.asarray(wide.weight)[0], 3, bias=float(wide.bias[0]))).radius
    nested = cell_map(wide.weight, wide.bias, preimage.Box(np.zeros(3), np.full(3, R)))
    return Fig3Data(_side(paper_fig3_identity()), _side(wide), nested)


def axis_intersections(W, b, box) -> np.ndarray:
    """Where the planes ``Π_i`` cut the coordinate axes ``t·e_j`` (``j ≠ i``) inside the box."""
    pts = []
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            if j == i or abs(W[i, j]) <= tolerances.ZERO_ROW:
                continue
            t = -b[i] / W[i, j]
            if box.lo[j] < t <= box.hi[j]:
                pts.append(t * np.eye(W.shape[1])[j])
    return np.array(pts).reshape(-1, W.shape[1])


def _cell_maps_into(side: Side, cell, seed: int) -> bool:
    """Sampled points of the closed cell and of its vertices map into the output subspace
    ``{y_i = 0, i ∈ zero_outputs}`` and span an image of dimension ``dim_out``."""
    X = np.vstack([cell.polyhedron.sample(200, seed=seed), cell.vertices])
    Y = side.net.forward(X)
    zero = list(cell.zero_outputs)
    in_subspace = bool(np.all(np.abs(Y[:, zero]) <= tolerances.ACTIVITY_ABSOLUTE)) if zero else True
    s = np.linalg.svd(Y - Y.mean(axis=0), compute_uv=False)
    rank = int(np.sum(s > tolerances.ACTIVITY_ABSOLUTE * max(1.0, float(s.max(initial=0.0)))))
    return in_subspace and rank == cell.dim_out == cell.output_subspace_dim


def checks(data: Fig3Data) -> dict[str, bool]:
    I, Wd = data.identity, data.wide
    out = {}
    out["identity: the light grey cell (1 negative constraint) maps onto a 2-D output plane"] = bool(
        I.light.n_negative == 1 and _cell_maps_into(I, I.light, 10))
    out["identity: the dark grey cell (2 negative constraints) maps onto a 1-D output line"] = bool(
        I.dark.n_negative == 2 and _cell_maps_into(I, I.dark, 11))
    out["identity: volume, faces and edges of both cells map to the same subspace (dimension non-increasing)"] = bool(
        all(f.out_subspace_dim <= c.output_subspace_dim and f.contracts for c in (I.light, I.dark) for f in c.faces))
    out["identity: contraction holds on every cell (nnz(y) <= nnz(x) on the closed cells)"] = bool(
        I.cells.contracts and I.cells.zeros_preserved)
    box = Wd.cells.domain
    out["wide cone: its planes cut the coordinate axes inside the box (identity: they do not)"] = bool(
        axis_intersections(np.asarray(Wd.cells.weight), np.asarray(Wd.cells.bias), box).shape[0] > 0
        and axis_intersections(np.asarray(I.cells.weight), np.asarray(I.cells.bias), I.cells.domain).shape[0] == 0)
    fails = [f for c in Wd.cells for f in c.failing_faces]
    beyond = all(any((np.asarray(Wd.cells.weight) @ f.point + np.asarray(Wd.cells.bias))[j] > 0 for j in f.zero_inputs)
                 for f in fails)
    X = np.array([f.point for f in fails]).reshape(-1, 3)
    forward = bool(np.all(np.count_nonzero(Wd.net.forward(X) > tolerances.ACTIVITY_ABSOLUTE, axis=1)
                          > np.count_nonzero(X > tolerances.ACTIVITY_ABSOLUTE, axis=1))) if len(X) else False
    out["wide cone: contraction fails on [0, 3]³, only beyond the planes' crossings of the coordinate subspaces"] = (
        bool(not Wd.cells.contracts and fails and beyond and forward)
    )
    out["wide cone: within its nesting radius ([0, R]³) contraction still holds"] = bool(
        data.nested_box.contracts and data.nested_box.zeros_preserved)
    a_id = shape_of(I.axis_preimage.polyhedron).measure()
    a_wide = shape_of(Wd.axis_preimage.polyhedron).measure()
    ok = True
    for s, seed in ((I, 12), (Wd, 13)):
        ok &= s.axis_preimage.dim == 2 and maps_to(s.net, s.axis_preimage.sample(200, seed=seed), Y_AXIS_POINT)
    out[
        f"preimages of a point on the output axis are 2-D and shrink: area {a_id:.3f} (left) > {a_wide:.3f} (right)"
    ] = bool(ok and a_wide < a_id)
    return out


def _plane_items(W: np.ndarray, b: np.ndarray, box) -> list:
    """The faint planes Π1, Π2, Π3, each labelled inside its own polygon, towards the vertex
    farthest from the other planes (the planes of a circulant meet on the identity line, so
    labels at their highest vertices or centroids would print over each other)."""
    normals = W / np.linalg.norm(W, axis=1, keepdims=True)
    offsets = b / np.linalg.norm(W, axis=1)
    out: list = []
    for it in hyperplane_items(W, b, box, alpha=0.07):
        if not isinstance(it, Patch):
            continue
        i = int(str(it.label)[1:]) - 1
        P = it.polygons[0]
        others = [j for j in range(W.shape[0]) if j != i]
        dist = np.abs(P @ normals[others].T + offsets[others]).sum(axis=1)
        c = P.mean(axis=0)
        out.append(it)
        out.append(Label(c + 0.78 * (P[int(np.argmax(dist))] - c), str(it.label), color=it.color, size=10.0,
                         zorder=1e4))
    return out


def _items(side: Side, failing: bool) -> list:
    from ...polyhedra import Polyhedron

    cm = side.cells
    W, b = np.asarray(cm.weight), np.asarray(cm.bias)
    box = cm.domain
    items = _plane_items(W, b, box)
    hi = box.hi
    items.append(Lines(tuple(np.vstack([np.zeros(3), hi[i] * np.eye(3)[i]]) for i in range(3)), color="k", width=2.0))
    for cell, col, alpha, name in ((side.light, _style.LIGHT_GREY, 0.35, "light grey cell (1 negative constraint)"),
                                   (side.dark, _style.DARK_GREY, 0.45, "dark grey cell (2 negative constraints)")):
        shp = shape_of(cell.polyhedron)
        items.append(Patch(shp.polygons, color=col, alpha=alpha, edgecolor=_style.GREY, linewidth=0.5, label=name))
        img = shape_of_points(side.net.forward(cell.vertices))
        if img.kind == "polygon":
            items.append(Patch(img.polygons, color=_style.RED, alpha=0.6, edgecolor=_style.RED,
                               label="its image: a 2-D output plane piece"))
        elif img.kind == "segment":
            items.append(Lines(img.polygons, color=_style.RED, width=4.0, label="its image: a 1-D output axis piece"))
    P = side.axis_preimage
    items += preimage_items(P, color="k", alpha=0.7, label=f"preimage of y = {tuple(Y_AXIS_POINT.tolist())}")
    items += dual_basis_items(W, b, Y_AXIS_POINT, negative=True, which=(1, 2), scale=0.35,
                              colors=(None, _style.BLUE, _style.PURPLE))
    if failing:
        faces = []
        for c in cm.cells:
            for f in c.failing_faces:
                S = list(f.zero_inputs)
                Vf = c.vertices[
                    np.all(np.abs(c.vertices[:, S]) <= tolerances.VERTEX_SIGN * (1 + np.abs(c.vertices).max()), axis=1)
                ]
                shp = shape_of_points(Vf)
                if shp.kind == "polygon":
                    faces.append(shp.polygons[0])
        if faces:  # translucent, so that the cells behind them show
            items.append(Patch(tuple(faces), color=_style.ORANGE, alpha=0.035, edgecolor=_style.ORANGE,
                               linewidth=0.6, label="coordinate faces where contraction fails"))
        crossings = []
        for i in range(3):  # Π_i ∩ {x_i = 0}: beyond it a zero input x_i gives a positive output y_i
            line = Polyhedron(np.zeros((0, 3)), np.zeros(0), np.vstack([W[i], np.eye(3)[i]]), [-b[i], 0.0])
            shp = shape_of(line, box)
            if shp.kind == "segment":
                crossings.append(shp.polygons[0])
        if crossings:
            items.append(Lines(tuple(crossings), color=_style.ORANGE, width=3.0,
                               label="Π_i ∩ {x_i = 0}: zeros kept on one side only"))
        pts = axis_intersections(W, b, box)
        if pts.shape[0]:
            items.append(Markers(pts, color=_style.ORANGE, size=40, label="planes cut the coordinate axes"))
    return items


#: The matplotlib figure's size (inches).
SIZE = (13.0, 7.0)


def scenes(data: Fig3Data) -> list:
    """The two 3-D scenes (left: identity, right: the wider cone)."""
    I, Wd = data.identity, data.wide
    return [
        Scene(tuple(_items(I, False)), "identity plus bias (W = I)", I.cells.domain.lo, I.cells.domain.hi,
              axis_labels=("x1 / y1", "x2 / y2", "x3 / y3"), elev=24, azim=-125),
        Scene(tuple(_items(Wd, True)), "wider cone: kernel (1, 1/4, 1/4)", Wd.cells.domain.lo, Wd.cells.domain.hi,
              axis_labels=("x1 / y1", "x2 / y2", "x3 / y3"), elev=28, azim=40),
    ]


def matplotlib_figure(data: Fig3Data):
    """The figure as drawn into the PNG and SVG."""
    return scenes_figure(scenes(data), TITLE, SIZE, legend_scene=1)


def figure_paper000_fig3(out_dir, *, dpi=None, formats=None, html_js: str = "inline") -> FigureResult:
    """Regenerate paper 000, Fig. 3 into ``out_dir`` (PNG, SVG, interactive HTML, caption ``.txt``)."""
    t0 = time.perf_counter()
    out = Output.make(out_dir, dpi, formats, html_js)
    data = compute()
    chk = checks(data)
    I, Wd = data.identity, data.wide
    paths = save_scenes(out, NAME, scenes(data), TITLE, SIZE, legend_scene=1)
    shown = f"""
One 3-node circulant layer y = relu(W x + b) on a box of the input orthant; input and output
share the axes (x_i / y_i), as in the paper. Left: W = I, b = -0.5 on [0, 1]³; right: the
circulant of kernel (1, 1/4, 1/4), b = -0.5 on [0, 3]³ — a wider cone. Faint planes: Π1, Π2, Π3.
The light grey cell (pattern {tuple(int(v) for v in LIGHT)}: one negative constraint) is mapped onto a
2-D piece of the output plane y3 = 0, the dark grey cell (pattern {tuple(int(v) for v in DARK)}: two) onto
a 1-D piece of the y1 axis (red: the images of the cells' vertices under the layer). Black: the exact
preimage inside the box of y = {tuple(Y_AXIS_POINT.tolist())}, a point on the output's first axis,
spanned from x* by −e2, −e3 (arrows); it is smaller on the right. Right only: the planes now cut
the coordinate axes (orange dots), and beyond those crossings coordinate faces of the all-active
cell (orange) are mapped to outputs with more non-zero coordinates than inputs — the contraction
property ceases there."""
    return finish(out, NAME, TITLE, shown,
                  ["preimage.conv.paper_fig3_identity / paper_fig3_wide_cone (preimage.conv.cell_map) — cells, "
                   "their output subspaces and coordinate faces",
                   "preimage.layer_preimage(W, b, y, domain=Box) — the black preimages; preimage.dual_basis — −e2, −e3",
                   "Network.forward of the cells' vertices — the red images"],
                  {"left W": np.asarray(I.cells.weight), "left b": np.asarray(I.cells.bias),
                   "left box": [I.cells.domain.lo.tolist(), I.cells.domain.hi.tolist()],
                   "right W": np.asarray(Wd.cells.weight), "right b": np.asarray(Wd.cells.bias),
                   "right box": [Wd.cells.domain.lo.tolist(), Wd.cells.domain.hi.tolist()],
                   "y (point on the output axis)": Y_AXIS_POINT}, chk, {"data": data}, paths, t0)
