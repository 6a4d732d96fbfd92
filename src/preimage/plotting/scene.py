"""Backend-neutral drawing items and their two renderers (matplotlib, plotly).

The plotting functions compute geometry with the library, turn it into a handful of items
— :class:`Patch` (filled convex polygons: regions, preimages, faces of polytopes),
:class:`Lines` (segments and polylines), :class:`Arrow`, :class:`Markers`, :class:`Label`
— and draw them with :func:`render_matplotlib` (2-D or 3-D axes; returns the artists) or
:func:`render_plotly` (3-D scenes of an interactive figure). Coordinates are arrays of
shape ``(k, 2)`` or ``(k, 3)``. matplotlib and plotly are imported inside the renderers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import readonly
from ..errors import InvalidInputError

__all__ = ["Patch", "Lines", "Arrow", "Markers", "Label", "Scene", "render_matplotlib", "render_plotly",
           "plotly_figure", "axes_for"]


def _pts(name: str, X) -> np.ndarray:
    A = np.atleast_2d(np.asarray(X, dtype=np.float64))
    if A.ndim != 2 or A.shape[1] not in (2, 3):
        raise InvalidInputError(f"{name} must be points in 2-D or 3-D, shape (k, 2) or (k, 3), got shape {A.shape}")
    return readonly(A)


@dataclass(frozen=True, slots=True, eq=False)
class Patch:
    """Filled convex polygons sharing one style (a region, a preimage piece, a polytope's faces)."""

    polygons: tuple[np.ndarray, ...]
    color: Any = "tab:grey"
    alpha: float = 0.5
    edgecolor: Any = None
    linewidth: float = 0.5
    label: str | None = None
    hatch: str | None = None
    zorder: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "polygons", tuple(_pts("polygons", p) for p in self.polygons))


@dataclass(frozen=True, slots=True, eq=False)
class Lines:
    """Polylines (each ``(k, d)``, ``k >= 2``) sharing one style."""

    paths: tuple[np.ndarray, ...]
    color: Any = "k"
    width: float = 1.5
    style: str = "-"
    label: str | None = None
    alpha: float = 1.0
    zorder: float = 2.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", tuple(_pts("paths", p) for p in self.paths))


@dataclass(frozen=True, slots=True, eq=False)
class Arrow:
    """An arrow from ``start`` along ``vector``."""

    start: np.ndarray
    vector: np.ndarray
    color: Any = "k"
    width: float = 1.5
    label: str | None = None
    text: str | None = None
    zorder: float = 3.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _pts("start", self.start)[0])
        object.__setattr__(self, "vector", _pts("vector", self.vector)[0])


@dataclass(frozen=True, slots=True, eq=False)
class Markers:
    """Points drawn as markers."""

    points: np.ndarray
    color: Any = "k"
    size: float = 20.0
    marker: str = "o"
    label: str | None = None
    zorder: float = 4.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", _pts("points", self.points))


@dataclass(frozen=True, slots=True, eq=False)
class Label:
    """A text label at a point."""

    position: np.ndarray
    text: str
    color: Any = "k"
    size: float = 9.0
    zorder: float | None = None  # in 3-D, a large value keeps the text above the depth-sorted patches

    def __post_init__(self) -> None:
        object.__setattr__(self, "position", _pts("position", self.position)[0])


@dataclass(frozen=True, slots=True, eq=False)
class Scene:
    """One 3-D (or 2-D) panel: items, a title, the axis limits and labels, a camera."""

    items: tuple = ()
    title: str = ""
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None
    axis_labels: tuple[str, ...] = ("x1", "x2", "x3")
    elev: float = 22.0
    azim: float = -60.0
    extra: dict = field(default_factory=dict)


# -- matplotlib ---------------------------------------------------------------------------------
def _is_3d(ax) -> bool:
    return getattr(ax, "name", "") == "3d"


def axes_for(ax, dim: int):
    """``ax`` checked against the dimension to draw, or new axes (pyplot) when ``None``.

    A 2-D drawing goes on the current axes (``plt.gca()``); a 3-D one on the current axes if
    they are 3-D, else on a new figure's 3-D axes.
    """
    if ax is not None:
        if dim == 3 and not _is_3d(ax):
            raise InvalidInputError("a 3-D drawing needs 3-D axes: fig.add_subplot(projection='3d')")
        if dim == 2 and _is_3d(ax):
            raise InvalidInputError("a 2-D drawing needs 2-D axes, got 3-D axes")
        return ax
    from .._optional import require

    plt = require("matplotlib.pyplot", "plotting")

    if dim == 3:
        if plt.get_fignums() and plt.gcf().axes and _is_3d(plt.gca()):
            return plt.gca()
        return plt.figure().add_subplot(projection="3d")
    return plt.gca()


def _arrow_2d(ax, a: Arrow):
    from matplotlib.patches import FancyArrowPatch

    p = FancyArrowPatch(tuple(a.start), tuple(a.start + a.vector), arrowstyle="-|>", mutation_scale=10 + 3 * a.width,
                        color=a.color, linewidth=a.width, zorder=a.zorder, label=a.label)
    ax.add_patch(p)
    return p


def render_matplotlib(items: Sequence, ax) -> list:
    """Draw ``items`` on matplotlib axes (2-D, or 3-D for 3-D items); returns the artists.

    A :class:`Patch` gives one artist per polygon in 2-D and one ``Poly3DCollection`` in 3-D.
    """
    artists: list = []
    three = _is_3d(ax)
    for it in items:
        if isinstance(it, Patch):
            if three:
                from mpl_toolkits.mplot3d.art3d import Poly3DCollection

                polys = [p for p in it.polygons if p.shape[0] >= 3]
                if polys:
                    # the same vertex count for every polygon (the last vertex repeated: the same
                    # polygon): matplotlib 3.11 leaves the padding of ragged faces uninitialised
                    # and autoscales on it (random limits, or "Axis limits cannot be NaN or Inf")
                    k = max(p.shape[0] for p in polys)
                    polys = [np.vstack([p, np.repeat(p[-1:], k - p.shape[0], axis=0)]) for p in polys]
                    coll = Poly3DCollection(polys, facecolors=it.color, alpha=it.alpha,
                                            edgecolors=it.edgecolor if it.edgecolor is not None else "none",
                                            linewidths=it.linewidth, label=it.label)
                    artists.append(ax.add_collection3d(coll) or coll)
                for p in it.polygons:  # flat leftovers (segments, points) of a degenerate face
                    if p.shape[0] == 2:
                        artists.extend(ax.plot(p[:, 0], p[:, 1], p[:, 2], color=it.color, lw=2 * it.linewidth + 1))
            else:
                from matplotlib.patches import Polygon

                for k, p in enumerate(it.polygons):
                    poly = Polygon(p, closed=True, facecolor=it.color, alpha=it.alpha,
                                   edgecolor=it.edgecolor if it.edgecolor is not None else "none",
                                   linewidth=it.linewidth, hatch=it.hatch, zorder=it.zorder,
                                   label=it.label if k == 0 else None)
                    artists.append(ax.add_patch(poly))
        elif isinstance(it, Lines):
            for k, p in enumerate(it.paths):
                lab = it.label if k == 0 else None
                if three:
                    artists.extend(ax.plot(p[:, 0], p[:, 1], p[:, 2], color=it.color, lw=it.width, ls=it.style,
                                           alpha=it.alpha, label=lab))
                else:
                    artists.extend(ax.plot(p[:, 0], p[:, 1], color=it.color, lw=it.width, ls=it.style,
                                           alpha=it.alpha, label=lab, zorder=it.zorder, solid_capstyle="butt"))
        elif isinstance(it, Arrow):
            if three:
                s, v = it.start, it.vector
                artists.append(ax.quiver(s[0], s[1], s[2], v[0], v[1], v[2], color=it.color, linewidth=it.width,
                                         arrow_length_ratio=0.15, label=it.label))
            else:
                artists.append(_arrow_2d(ax, it))
            if it.text:
                tip = it.start + 1.08 * it.vector
                artists.append(ax.text(*tip, it.text, color=it.color, fontsize=10, ha="center", va="center"))
        elif isinstance(it, Markers):
            P = it.points
            if three:
                artists.append(ax.scatter(P[:, 0], P[:, 1], P[:, 2], color=it.color, s=it.size, marker=it.marker,
                                          label=it.label, depthshade=False))
            else:
                artists.append(ax.scatter(P[:, 0], P[:, 1], color=it.color, s=it.size, marker=it.marker,
                                          label=it.label, zorder=it.zorder))
        elif isinstance(it, Label):
            kw = {} if it.zorder is None else {"zorder": it.zorder}
            artists.append(ax.text(*it.position, it.text, color=it.color, fontsize=it.size, **kw))
        else:
            raise InvalidInputError(f"cannot draw {type(it).__name__}: expected Patch, Lines, Arrow, Markers or Label")
    return artists


def render_scene_matplotlib(scene: Scene, ax) -> list:
    """Draw a :class:`Scene` on 3-D matplotlib axes: items, limits, labels, camera."""
    artists = render_matplotlib(scene.items, ax)
    if scene.lo is not None and scene.hi is not None:
        ax.set_xlim(scene.lo[0], scene.hi[0])
        ax.set_ylim(scene.lo[1], scene.hi[1])
        ax.set_zlim(scene.lo[2], scene.hi[2])
        # ``extra["zoom"] < 1`` shrinks the box inside its axes, leaving room for the axis labels
        ax.set_box_aspect(tuple(np.asarray(scene.hi) - np.asarray(scene.lo)), zoom=float(scene.extra.get("zoom", 1.0)))
    ax.set_xlabel(scene.axis_labels[0])
    ax.set_ylabel(scene.axis_labels[1])
    ax.set_zlabel(scene.axis_labels[2])
    ax.view_init(elev=scene.elev, azim=scene.azim)
    if scene.title:
        ax.set_title(scene.title, fontsize=10)
    return artists


# -- plotly --------------------------------------------------------------------------------------
def _rgb(color: Any) -> str:
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(color)
    return f"rgb({int(round(255 * r))},{int(round(255 * g))},{int(round(255 * b))})"


def _dash(style: str) -> str:
    return {"--": "dash", ":": "dot", "-.": "dashdot"}.get(style, "solid")


def render_plotly(items: Sequence, fig, row: int = 1, col: int = 1) -> list:
    """Add ``items`` (3-D) as traces to a plotly figure's scene at ``(row, col)``; returns the traces.

    Polygons become ``Mesh3d`` fans with their edges as lines, arrows a line and a ``Cone``
    head, markers and labels ``Scatter3d``.
    """
    from .._optional import require

    go = require("plotly.graph_objects", "interactive 3-D figures")

    traces: list = []
    shown: set[str] = set()

    def legend(name: str | None) -> dict:
        if not name:
            return {"showlegend": False}
        first = name not in shown
        shown.add(name)
        return {"name": name, "legendgroup": name, "showlegend": first}

    for it in items:
        if isinstance(it, Patch):
            xs, ys, zs, I, J, K = [], [], [], [], [], []
            ex, ey, ez = [], [], []
            for p in it.polygons:
                if p.shape[1] != 3:
                    raise InvalidInputError("plotly scenes are 3-D: polygons must have shape (k, 3)")
                base = len(xs)
                xs.extend(p[:, 0])
                ys.extend(p[:, 1])
                zs.extend(p[:, 2])
                for t in range(1, p.shape[0] - 1):
                    I.append(base)
                    J.append(base + t)
                    K.append(base + t + 1)
                if it.edgecolor is not None and not (isinstance(it.edgecolor, str) and it.edgecolor == "none"):
                    closed = np.vstack([p, p[:1]])
                    ex.extend(list(closed[:, 0]) + [None])
                    ey.extend(list(closed[:, 1]) + [None])
                    ez.extend(list(closed[:, 2]) + [None])
            if I:
                traces.append(go.Mesh3d(x=xs, y=ys, z=zs, i=I, j=J, k=K, color=_rgb(it.color), opacity=it.alpha,
                                        flatshading=True, **legend(it.label)))
            if ex:
                traces.append(go.Scatter3d(x=ex, y=ey, z=ez, mode="lines", showlegend=False,
                                           line={"color": _rgb(it.edgecolor), "width": 2}, hoverinfo="skip"))
        elif isinstance(it, Lines):
            X, Y, Z = [], [], []
            for p in it.paths:
                X.extend(list(p[:, 0]) + [None])
                Y.extend(list(p[:, 1]) + [None])
                Z.extend(list(p[:, 2]) + [None])
            traces.append(go.Scatter3d(x=X, y=Y, z=Z, mode="lines", opacity=it.alpha,
                                       line={"color": _rgb(it.color), "width": 2 * it.width, "dash": _dash(it.style)},
                                       **legend(it.label)))
        elif isinstance(it, Arrow):
            s, e = it.start, it.start + it.vector
            traces.append(go.Scatter3d(x=[s[0], e[0]], y=[s[1], e[1]], z=[s[2], e[2]], mode="lines",
                                       line={"color": _rgb(it.color), "width": 3 * it.width}, **legend(it.label)))
            head = 0.15 * it.vector
            traces.append(go.Cone(x=[e[0] - head[0]], y=[e[1] - head[1]], z=[e[2] - head[2]],
                                  u=[head[0]], v=[head[1]], w=[head[2]], anchor="tail", showscale=False,
                                  sizemode="absolute", sizeref=float(np.linalg.norm(head)),
                                  colorscale=[[0, _rgb(it.color)], [1, _rgb(it.color)]], showlegend=False))
            if it.text:
                tip = it.start + 1.1 * it.vector
                traces.append(go.Scatter3d(x=[tip[0]], y=[tip[1]], z=[tip[2]], mode="text", text=[it.text],
                                           textfont={"color": _rgb(it.color), "size": 14}, showlegend=False))
        elif isinstance(it, Markers):
            P = it.points
            traces.append(go.Scatter3d(x=P[:, 0], y=P[:, 1], z=P[:, 2], mode="markers",
                                       marker={"color": _rgb(it.color), "size": max(2.0, np.sqrt(it.size))},
                                       **legend(it.label)))
        elif isinstance(it, Label):
            p = it.position
            traces.append(go.Scatter3d(x=[p[0]], y=[p[1]], z=[p[2]], mode="text", text=[it.text],
                                       textfont={"color": _rgb(it.color), "size": 1.4 * it.size}, showlegend=False))
        else:
            raise InvalidInputError(f"cannot draw {type(it).__name__}: expected Patch, Lines, Arrow, Markers or Label")
    for tr in traces:
        fig.add_trace(tr, row=row, col=col)
    return traces


def plotly_figure(scenes: Sequence[Scene], title: str = "", cols: int | None = None):
    """An interactive plotly figure with one 3-D scene per :class:`Scene`, side by side
    (``cols`` per row; default: all in one row)."""
    from .._optional import require

    make_subplots = require("plotly.subplots", "interactive 3-D figures").make_subplots

    n = len(scenes)
    ncols = n if cols is None else max(1, min(int(cols), n))
    nrows = -(-n // ncols)
    fig = make_subplots(rows=nrows, cols=ncols, specs=[[{"type": "scene"}] * ncols] * nrows,
                        subplot_titles=[s.title for s in scenes], horizontal_spacing=0.02,
                        vertical_spacing=0.06 if nrows > 1 else None)
    for c, sc in enumerate(scenes, start=1):
        render_plotly(sc.items, fig, row=(c - 1) // ncols + 1, col=(c - 1) % ncols + 1)
        key = "scene" if c == 1 else f"scene{c}"
        layout: dict[str, Any] = {
            "xaxis_title": sc.axis_labels[0], "yaxis_title": sc.axis_labels[1], "zaxis_title": sc.axis_labels[2],
        }
        if sc.lo is not None and sc.hi is not None:
            lo, hi = np.asarray(sc.lo), np.asarray(sc.hi)
            layout.update(xaxis_range=[lo[0], hi[0]], yaxis_range=[lo[1], hi[1]], zaxis_range=[lo[2], hi[2]],
                          aspectmode="manual",
                          aspectratio=dict(zip("xyz", ((hi - lo) / (hi - lo).max()).tolist())))
        # the matplotlib camera (elevation, azimuth in degrees) as a plotly eye
        el, az = np.radians(sc.elev), np.radians(sc.azim)
        r = 2.0
        layout["camera"] = {"eye": {"x": r * np.cos(el) * np.cos(az), "y": r * np.cos(el) * np.sin(az),
                                    "z": r * np.sin(el)}}
        fig.update_layout({key: layout})
    fig.update_layout(title=title, margin={"l": 0, "r": 0, "t": 60, "b": 0}, legend={"itemsizing": "constant"})
    return fig
