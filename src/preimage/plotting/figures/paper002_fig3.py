"""Paper 002, Fig. 3 — a 3-node layer: Π1, Π2, Π3, the dual basis e1–e3, and three preimages.

    "Figure 3 illustrates the associated hyperplanes Π1, Π2, Π3 in the case of three nodes
    and the respective unit vectors e1, e2, e3 with positive directions indicated by arrows.
    [...] 1. For w1ᵀx > 0, w2ᵀx > 0, w3ᵀx < 0, the preimage of a point on the plane Π3
    consist of all points on the indicated arrow. 2. For w1ᵀx > 0, w2ᵀx < 0, w3ᵀx > 0, the
    preimage of a point on the plane Π2 consist of all points on the indicated arrow.
    3. For w1ᵀx > 0, w2ᵀx < 0, w3ᵀx < 0, the preimage of a point on the intersection of
    planes Π2 and Π3 consist of all points on the indicated grey shaded area."

The planes come from :func:`preimage.hyperplanes`, the dual basis and its apex from
:func:`preimage.dual_basis`, the three preimages from :func:`preimage.layer_preimage` (on all
of R³, drawn inside the view box): two rays ``x* − α e3`` and ``x* − α e2`` and the 2-D cone
``x* − α2 e2 − α3 e3``. Two views, and an interactive HTML.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ... import tolerances
from .. import _style
from ..geometry import dual_basis_items, hyperplane_items
from ..preimages import preimage_items
from ..scene import Arrow, Markers, Scene
from ._common import FigureResult, Output, finish, maps_to, save_scenes, scenes_figure

__all__ = ["NAME", "W", "B", "OUTPUTS", "compute", "checks", "figure_paper002_fig3"]

NAME = "paper002_fig3"
TITLE = "Paper 002, Fig. 3: hyperplanes Π1–Π3 of a 3-node layer, dual basis e1–e3, and preimages"

#: The layer ``y = relu(W x + b)`` (as in ``examples/demo.py``).
W = np.array([[1.0, 0.2, 0.1], [0.1, 1.0, 0.3], [0.2, 0.1, 1.0]])
B = np.array([-0.5, -0.4, -0.3])

#: The three outputs of the paper (and their zero sets).
OUTPUTS = {
    "point on Π3 (y3 = 0): a ray along −e3": np.array([0.7, 0.5, 0.0]),
    "point on Π2 (y2 = 0): a ray along −e2": np.array([0.6, 0.0, 0.6]),
    "point on Π2 ∩ Π3 (y2 = y3 = 0): a 2-D cone": np.array([0.6, 0.0, 0.0]),
}
COLOURS = (_style.RED, _style.ORANGE, _style.DARK_GREY)
VIEW_LO, VIEW_HI = np.array([-1.0, -1.0, -1.0]), np.array([1.6, 1.6, 1.6])


@dataclass(frozen=True)
class Fig3Data:
    net: object
    dual: object
    preimages: dict  # label -> LayerPreimage (on all of R^3)
    view: object


def compute() -> Fig3Data:
    import preimage

    net = preimage.Network.from_arrays([(W, B, True)])
    pre = {k: preimage.layer_preimage(W, B, y, domain=None) for k, y in OUTPUTS.items()}
    return Fig3Data(net, preimage.dual_basis(W, B), pre, preimage.Box(VIEW_LO, VIEW_HI))


def _spanned_by(P, E: np.ndarray, idx: list[int]) -> bool:
    """The preimage is ``x* − Σ_{i ∈ idx} α_i e_i`` (``α >= 0``): its affine hull is spanned by
    those ``e_i``, and from ``x*`` it goes along each ``−e_i`` but not along ``+e_i``."""
    hull = P.polyhedron.affine_hull().basis  # orthonormal columns
    if hull.shape[1] != len(idx):
        return False
    ok = True
    for i in idx:
        e = E[:, i]
        ok &= bool(np.linalg.norm(e - hull @ (hull.T @ e)) <= tolerances.CONTAINS * np.linalg.norm(e))
        ok &= bool(P.contains(P.apex - e)) and bool(P.contains(P.apex - 10.0 * e)) and not bool(P.contains(P.apex + e))
    return ok


def checks(data: Fig3Data) -> dict[str, bool]:
    out = {}
    E = data.dual.vectors
    eps = tolerances.ACTIVITY_ABSOLUTE
    out["dual basis: w_j·e_i = δ_ij, and the apex lies on Π1, Π2, Π3"] = bool(
        np.allclose(W @ E, np.eye(3), atol=eps) and np.allclose(W @ data.dual.apex + B, 0.0, atol=eps))
    (k1, P1), (k2, P2), (k3, P3) = data.preimages.items()
    out["dimensions: 1 (ray), 1 (ray), 2 (cone)"] = [P1.dim, P2.dim, P3.dim] == [1, 1, 2]
    out["point on Π3: x* lies on Π3 and the preimage is the ray x* − α e3"] = bool(
        abs(W[2] @ P1.apex + B[2]) <= eps and P1.contains(P1.apex) and _spanned_by(P1, E, [2]))
    out["point on Π2: x* lies on Π2 and the preimage is the ray x* − α e2"] = bool(
        abs(W[1] @ P2.apex + B[1]) <= eps and P2.contains(P2.apex) and _spanned_by(P2, E, [1]))
    out["point on Π2 ∩ Π3: x* lies on both and the preimage is the cone spanned by −e2, −e3"] = bool(
        np.all(np.abs(W[1:] @ P3.apex + B[1:]) <= eps) and P3.contains(P3.apex) and _spanned_by(P3, E, [1, 2]))
    for k, y in OUTPUTS.items():
        X = data.preimages[k].polyhedron.intersect(data.view).sample(200, seed=6)
        out[f"points sampled from the preimage of y = {y.tolist()} map to it"] = maps_to(data.net, X, y)
    return out


def scene_items(data: Fig3Data) -> list:
    view = data.view
    items = hyperplane_items(W, B, view, alpha=0.16)
    items += dual_basis_items(W, B, scale=0.8)
    items.append(Markers(data.dual.apex, color="k", size=25, label="common point of Π1, Π2, Π3"))
    for (k, P), col in zip(data.preimages.items(), COLOURS):
        drawn = preimage_items(P, view=view, color=col, alpha=0.45, width=3.5, label=k)
        items += drawn
        items.append(Markers(P.apex, color=col, size=30))
        if P.dim == 1:  # the ray's direction, as the paper's arrow
            d = P.directions[:, 0]  # −e_i of the one zero output
            items.append(Arrow(P.apex, 0.6 * d, color=col, width=2.5))
    return items


#: The matplotlib figure's size (inches).
SIZE = (12.0, 6.4)


def scenes(data) -> list:
    """The two views of the scene."""
    items = tuple(scene_items(data))
    return [
        Scene(items, "view 1", VIEW_LO, VIEW_HI, elev=20, azim=-50, extra={"zoom": 0.92}),
        Scene(items, "view 2", VIEW_LO, VIEW_HI, elev=35, azim=40, extra={"zoom": 0.92}),
    ]


def matplotlib_figure(data):
    """The figure as drawn into the PNG and SVG."""
    return scenes_figure(scenes(data), TITLE, SIZE)


def figure_paper002_fig3(out_dir, *, dpi=None, formats=None, html_js: str = "inline") -> FigureResult:
    """Regenerate paper 002, Fig. 3 into ``out_dir`` (PNG, SVG, interactive HTML, caption ``.txt``)."""
    t0 = time.perf_counter()
    out = Output.make(out_dir, dpi, formats, html_js)
    data = compute()
    chk = checks(data)
    paths = save_scenes(out, NAME, scenes(data), TITLE, SIZE)
    shown = """
One rectifier layer with three nodes, y = relu(W x + b), in its 3-D input space (two views; the
HTML file can be rotated). The translucent planes are the hyperplanes Π1, Π2, Π3 (w_i·x + b_i = 0);
the arrows e1, e2, e3 are the dual basis (w_j·e_i = δ_ij: e_i runs along the intersection of the
other two planes, pointing to the positive side of Π_i) drawn from the planes' common point. The
preimages of three outputs are drawn from their exact polyhedra (inside the view box): for
y = (0.7, 0.5, 0) a ray from x* on Π3 along −e3 (red); for y = (0.6, 0, 0.6) a ray from x* on Π2
along −e2 (orange); for y = (0.6, 0, 0) the 2-D cone x* − α2 e2 − α3 e3 from x* on Π2 ∩ Π3 (grey
shaded). The dots mark each preimage's apex x*."""
    return finish(out, NAME, TITLE, shown,
                  ["preimage.hyperplanes(W, b) — the planes Π_i",
                   "preimage.dual_basis(W, b) — e_i and the common point",
                   "preimage.layer_preimage(W, b, y, domain=None) — the preimages (apex, directions −e_i)"],
                  {"W": W, "b": B, **{f"y ({k})": y for k, y in OUTPUTS.items()}}, chk, {"data": data}, paths, t0)
