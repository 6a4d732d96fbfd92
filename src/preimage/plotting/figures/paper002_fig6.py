"""Paper 002, Fig. 6 — two successive 2-node layers split classes sharing a manifold and merge
a class lying on two.

    "At various levels of the network, different classes can located on the same manifold
    or the same class can be distributed on different manifolds. This means that we need
    procedures for ReLU networks that splits different classes on the same manifold or
    merges a class that is represented on several manifolds to one and the same. [...]
    fig. 6 illustrates for the simple 2 node network how the preimages of classes can be
    split or merged by proper selection of kernels at successive levels."

At level l the classes lie on 1-D manifolds: A and part B1 of class B on one line L, the
other part B2 of B on a second line. Level l+1 (hyperplanes through a point of L between A
and B1) *splits* A and B1 onto different manifolds, the two output axes, while B2 lands on a
line inside the quadrant: B is now on two manifolds. Level l+2 *merges* B1 and B2 onto one
manifold (the z1 axis) and sends A to the other axis. The shaded regions are the exact
preimages (:func:`preimage.preimage` with polyhedral targets) of the two output axes of level
l+2, at levels l and l+1; the points are mapped by the network's forward pass.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ... import tolerances
from .. import _style
from ..geometry import hyperplane_items
from ..preimages import preimage_items
from ..scene import Markers, render_matplotlib
from ._common import FigureResult, Output, finish, new_figure

__all__ = ["NAME", "W1", "B1", "W2", "B2", "classes", "compute", "checks", "figure_paper002_fig6"]

NAME = "paper002_fig6"
TITLE = "Paper 002, Fig. 6: splitting classes that share a manifold, merging a class split over two"

# -- the classes at level l: points on 1-D manifolds (segments) -------------------------------------
_P0, _U = np.array([0.2, 0.3]), np.array([1.0, 0.35])  # the line L shared by A and B1
_SPLIT = 1.3  # where the level-(l+1) hyperplanes cross L (between A and B1)
_C = _P0 + _SPLIT * _U
_D, _OFF = np.array([-0.5, 1.0]), np.array([-0.1, 0.3])  # the second line of B

#: Level l+1: both hyperplanes pass through the point of L between A and B1; node 1 is positive
#: towards A, node 2 towards B1.
W1 = np.array([[-1.0, -0.2], [0.6, 1.0]])
B1 = -W1 @ _C
#: Level l+2: node 1 positive on the y2 axis and above the line of B2, node 2 on the y1 axis.
W2 = np.array([[-0.5, 1.0], [1.0, -1.0]])
B2 = np.array([-0.1, -0.1])

DOMAIN_HI = np.array([3.0, 2.5])


def classes(n: int = 14) -> dict[str, np.ndarray]:
    """The classes at level l: A and B1 on the line L, B2 on another line."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    return {
        "A": _P0 + (0.1 + 0.9 * t) * _U,
        "B1": _P0 + (1.6 + 1.0 * t) * _U,
        "B2": _C + _OFF + (0.4 + 0.8 * t) * _D,
    }


@dataclass(frozen=True)
class Fig6Data:
    net: object
    points: dict  # level -> {class part -> points}
    axis_preimages: dict  # (level, axis) -> PreimageResult: inputs of that level sent onto the axis at l+2
    boxes: dict  # level -> Box drawn


def compute() -> Fig6Data:
    import preimage

    net = preimage.Network.from_arrays([(W1, B1, True), (W2, B2, True)])
    X = classes()
    points = {lev: {k: (v if lev == 0 else net.activations(v, layer=lev)) for k, v in X.items()} for lev in range(3)}
    box0 = preimage.Box([0.0, 0.0], DOMAIN_HI)
    hi1 = np.max(net.activations(box0.vertices(), layer=1), axis=0)
    box1 = preimage.Box([0.0, 0.0], hi1)
    # the two output axes of level l+2 (activities are non-negative): z2 = 0 and z1 = 0
    axis = {"z1 axis (z2 = 0)": preimage.Polyhedron([[-1.0, 0.0]], [0.0], [[0.0, 1.0]], [0.0]),
            "z2 axis (z1 = 0)": preimage.Polyhedron([[0.0, -1.0]], [0.0], [[1.0, 0.0]], [0.0])}
    sub = preimage.Network.from_arrays([(W2, B2, True)])
    pre = {}
    for name, T in axis.items():
        pre[(0, name)] = preimage.preimage(net, T, domain=box0)
        pre[(1, name)] = preimage.preimage(sub, T, domain=box1)
    return Fig6Data(net, points, pre, {0: box0, 1: box1})


def _on_line(X: np.ndarray) -> bool:
    """The points are collinear (one 1-D manifold)."""
    s = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)
    return bool(s[1] <= tolerances.ACTIVITY_ABSOLUTE * max(1.0, s[0]))


def checks(data: Fig6Data) -> dict[str, bool]:
    eps = tolerances.ACTIVITY_ABSOLUTE
    P0, P1, P2 = data.points[0], data.points[1], data.points[2]
    out = {}
    out["level l: A and B1 lie on one line (A and B share a manifold), B2 on another"] = bool(
        _on_line(np.vstack([P0["A"], P0["B1"]])) and _on_line(P0["B2"])
        and not _on_line(np.vstack([P0["B1"], P0["B2"]])))
    out["level l+1 splits A and B: A on the y1 axis (y2 = 0), B1 on the y2 axis (y1 = 0)"] = bool(
        np.all(np.abs(P1["A"][:, 1]) <= eps) and np.all(P1["A"][:, 0] > eps)
        and np.all(np.abs(P1["B1"][:, 0]) <= eps) and np.all(P1["B1"][:, 1] > eps))
    out["level l+1: class B lies on two manifolds (B1 on the y2 axis, B2 on a line inside the quadrant)"] = bool(
        np.all(P1["B2"] > eps) and _on_line(P1["B2"]) and not _on_line(np.vstack([P1["B1"], P1["B2"]])))
    out["level l+2 merges B: B1 and B2 on one manifold, the z1 axis (z2 = 0)"] = bool(
        np.all(np.abs(np.vstack([P2["B1"], P2["B2"]])[:, 1]) <= eps)
        and np.all(np.vstack([P2["B1"], P2["B2"]])[:, 0] > eps))
    out["level l+2 keeps A apart: A on the z2 axis (z1 = 0), no A point mixed with a B point"] = bool(
        np.all(np.abs(P2["A"][:, 0]) <= eps) and np.all(P2["A"][:, 1] > eps)
        and np.min(np.linalg.norm(P2["A"][:, None, :] - np.vstack([P2["B1"], P2["B2"]])[None], axis=2)) > eps)
    pre = data.axis_preimages
    inB = pre[(0, "z1 axis (z2 = 0)")].set.contains(np.vstack([P0["B1"], P0["B2"]]))
    inA = pre[(0, "z2 axis (z1 = 0)")].set.contains(P0["A"])
    notA = ~pre[(0, "z1 axis (z2 = 0)")].set.contains(P0["A"])
    out["the exact preimage of the z1 axis holds all of B and none of A (and vice versa)"] = bool(
        np.all(inB) and np.all(inA) and np.all(notA)
        and not np.any(pre[(0, "z2 axis (z1 = 0)")].set.contains(np.vstack([P0["B1"], P0["B2"]]))))
    return out


_AXIS_COLOURS = {"z1 axis (z2 = 0)": _style.LIGHT_BLUE, "z2 axis (z1 = 0)": "#f4a582"}


def figure_paper002_fig6(out_dir, *, dpi=None, formats=None, html_js: str = "inline") -> FigureResult:
    """Regenerate paper 002, Fig. 6 into ``out_dir`` (PNG, SVG and a caption ``.txt``)."""
    t0 = time.perf_counter()
    out = Output.make(out_dir, dpi, formats, html_js)
    data = compute()
    chk = checks(data)
    fig = new_figure(13.0, 4.9)
    axes = fig.subplots(1, 3)
    names = ("level l (input)", "level l+1", "level l+2")
    lab = ("x", "y", "z")
    layers = {0: (W1, B1), 1: (W2, B2)}
    for lev, ax in enumerate(axes):
        items: list = []
        if lev < 2:
            for name, res in ((k[1], v) for k, v in data.axis_preimages.items() if k[0] == lev):
                items += preimage_items(res, color=_AXIS_COLOURS[name], alpha=0.55, edgecolor="none",
                                        label=f"preimage of the {name} at level l+2")
            box = data.boxes[lev]
            items += hyperplane_items(*layers[lev], box, labels=[f"Π{i + 1} of level l+{lev + 1}" for i in range(2)],
                                      colors=(_style.DARK_RED, _style.BLUE), width=1.2, style="--")
        P = data.points[lev]
        items.append(Markers(P["A"], color=_style.RED, size=22, label="class A"))
        items.append(Markers(P["B1"], color=_style.BLUE, size=22, marker="s", label="class B (part B1)"))
        items.append(Markers(P["B2"], color=_style.BLUE, size=26, marker="^", label="class B (part B2)"))
        render_matplotlib(items, ax)
        ax.axhline(0, color="k", lw=0.8)
        ax.axvline(0, color="k", lw=0.8)
        if lev < 2:
            hi = data.boxes[lev].hi
        else:
            hi = np.max(np.vstack(list(P.values())), axis=0) * 1.15
        ax.set_xlim(-0.05 * hi[0], hi[0])
        ax.set_ylim(-0.05 * hi[1], hi[1])
        ax.set_xlabel(f"${lab[lev]}_1$")
        ax.set_ylabel(f"${lab[lev]}_2$")
        ax.set_title(names[lev], fontsize=10)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="outside lower center", ncols=4, frameon=False)
    fig.suptitle(TITLE, fontsize=11)
    paths = out.save_matplotlib(fig, NAME)
    shown = """
Two successive 2-node rectifier layers. Level l: class A (red dots) and part B1 of class B (blue
squares) lie on one line — the same manifold — and part B2 of B (blue triangles) on another line.
The dashed lines are the hyperplanes of the next level. Level l+1: its two hyperplanes cross the
shared line between A and B1, so A lands on the y1 axis and B1 on the y2 axis — different
manifolds (split) — while B2 lands on a line inside the quadrant: B is spread over two manifolds.
Level l+2: B1 and B2 are both sent to the z1 axis — one manifold (merge) — and A to the z2 axis.
Shaded: the exact preimages, at levels l and l+1, of the two output axes of level l+2 (light blue:
z1 axis, light red: z2 axis; they overlap where everything maps to (0, 0)); all of B lies in the
first and all of A in the second."""
    weights = {"W(l+1)": W1, "b(l+1)": B1, "W(l+2)": W2, "b(l+2)": B2}
    weights.update({f"class {k} (level l, first and last point)": v[[0, -1]] for k, v in classes().items()})
    return finish(out, NAME, TITLE, shown,
                  ["Network.activations — the classes at levels l+1, l+2 (forward pass)",
                   "preimage.preimage(net, Polyhedron axis target, domain=Box) — the shaded preimages",
                   "preimage.hyperplanes — the dashed hyperplanes"],
                  weights, chk, {"data": data}, paths, t0)
