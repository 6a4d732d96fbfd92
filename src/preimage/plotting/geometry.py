"""Hyperplanes, dual basis and cones of one layer, drawn from the library's own geometry.

* :func:`plot_hyperplanes` — ``Π_i = {x : w_i·x + b_i = 0}`` inside a viewing box (lines in
  2-D, planes in 3-D), from :func:`preimage.hyperplanes`;
* :func:`plot_dual_basis` — the dual basis ``e_i`` (``w_j·e_i = δ_ij``) as arrows from the
  apex, from :func:`preimage.dual_basis`;
* :func:`plot_cone` — the regular polyhedral cone of a circulant layer (paper 000, §4): its
  hyperplanes, apex on the identity line, and the cell ``{C x + b >= 0}`` whose edges run
  along the dual basis.

Each takes ``ax=None`` (the current axes; 3-D axes for 3-D inputs) and returns the artists.
The ``*_items`` functions return the backend-neutral items (:mod:`preimage.plotting.scene`)
that the paper figures also render with plotly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import as_matrix, as_vector
from ..errors import InvalidInputError
from . import _style
from ._shapes import shape_of
from .scene import Arrow, Label, Lines, Markers, Patch, axes_for, render_matplotlib

__all__ = [
    "plot_hyperplanes",
    "plot_dual_basis",
    "plot_cone",
    "hyperplane_items",
    "dual_basis_items",
    "cone_items",
]


def _check_view(view, n: int):
    from ..polyhedra import Box

    if not isinstance(view, Box):
        raise InvalidInputError(f"view must be a preimage.Box (the part of space to draw), got {type(view).__name__}")
    if view.ambient_dim != n:
        raise InvalidInputError(f"view is a box in dimension {view.ambient_dim}, but the layer takes {n} inputs")
    if n not in (2, 3):
        raise InvalidInputError(f"only 2-D and 3-D inputs can be drawn, the layer takes {n} inputs")
    return view


def _layer_arrays(W, b) -> tuple[np.ndarray, np.ndarray]:
    Wm = as_matrix("W", W)
    return Wm, as_vector("b", b, length=Wm.shape[0])


def hyperplane_items(W, b, view, *, colors: Sequence[Any] | None = None, labels: Sequence[str] | bool = True,
                     alpha: float = 0.25, width: float = 1.5, style: str = "-", offsets=None) -> list:
    """Items for the hyperplanes ``w_i·x + b_i = o_i`` (``o = offsets``, default 0) inside ``view``.

    Each hyperplane is the polyhedron ``{x : w_i·x + b_i = o_i}`` intersected with the box:
    a segment in 2-D, a polygon in 3-D. Rows ``w_i = 0`` have no hyperplane and are skipped.
    """
    from ..layer.dual_basis import hyperplanes
    from ..polyhedra import Polyhedron

    Wm, bv = _layer_arrays(W, b)
    n = Wm.shape[1]
    _check_view(view, n)
    H = hyperplanes(Wm, bv)
    o = np.zeros(Wm.shape[0]) if offsets is None else as_vector("offsets", offsets, length=Wm.shape[0])
    scale = np.linalg.norm(Wm, axis=1)
    if labels is True:
        names = [f"Π{i + 1}" for i in range(Wm.shape[0])]
    elif labels is False or labels is None:
        names = [None] * Wm.shape[0]
    else:
        names = list(labels)
    items: list = []
    for i in range(Wm.shape[0]):
        if H.degenerate[i]:
            continue
        col = _style.node_colour(i) if colors is None else colors[i % len(colors)]
        plane = Polyhedron(np.zeros((0, n)), np.zeros(0), H.normals[i:i + 1], [o[i] / scale[i] - H.offsets[i]])
        shp = shape_of(plane, view)
        if shp.is_empty or shp.dim < n - 1:
            continue
        poly = shp.polygons[0]
        if n == 2:
            items.append(Lines((poly,), color=col, width=width, style=style, label=names[i]))
            if names[i]:
                items.append(Label(poly[0] + 0.88 * (poly[1] - poly[0]), names[i], color=col))
        else:
            items.append(Patch((poly,), color=col, alpha=alpha, edgecolor=col, linewidth=0.8, label=names[i]))
            if names[i]:
                items.append(Label(poly[np.argmax(poly[:, 2])], names[i], color=col))
    return items


def dual_basis_items(W, b, y=None, *, scale: float = 1.0, negative: bool = False, which=None,
                     colors: Sequence[Any] | None = None, labels: bool = True, start=None) -> list:
    """Items for the dual basis: arrows ``±scale·e_i`` from the apex (or from ``start``).

    ``negative=True`` draws ``−e_i``, the direction into the negative side of ``Π_i`` that
    spans a preimage (the paper's orientation); ``which`` selects the indices ``i``.
    """
    from ..layer.dual_basis import dual_basis

    Wm, bv = _layer_arrays(W, b)
    D = dual_basis(Wm, bv, y)
    origin = D.apex if start is None else as_vector("start", start, length=Wm.shape[1])
    idx = range(Wm.shape[0]) if which is None else which
    sign = -1.0 if negative else 1.0
    items: list = []
    for i in idx:
        col = _style.node_colour(i) if colors is None else colors[i % len(colors)]
        text = (f"−e{i + 1}" if negative else f"e{i + 1}") if labels else None
        items.append(Arrow(origin, sign * scale * D.vectors[:, i], color=col, text=text))
    return items


def plot_hyperplanes(W, b, ax=None, *, view, colors=None, labels: Sequence[str] | bool = True,
                     alpha: float = 0.25, width: float = 1.5, style: str = "-") -> list:
    """Draw the hyperplanes ``Π_i = {x : w_i·x + b_i = 0}`` of the layer ``relu(W x + b)``.

    Parameters
    ----------
    W : (m, n) array_like, ``n`` = 2 or 3.
    b : (m,) array_like
    ax : matplotlib axes (3-D for ``n = 3``), or ``None`` for the current axes.
    view : Box — the part of the input space drawn (hyperplanes are unbounded).
    colors, labels, alpha, width, style : appearance (labels default ``Π1, Π2, …``).

    Returns
    -------
    list of matplotlib artists (a line or a 3-D polygon per hyperplane, and their labels).

    Examples
    --------
    >>> import numpy as np
    >>> from matplotlib.figure import Figure
    >>> from preimage import Box
    >>> ax = Figure().add_subplot()
    >>> arts = plot_hyperplanes(np.eye(2), [-0.5, -0.5], ax, view=Box([0, 0], [1, 1]))
    >>> len(ax.lines), [t.get_text() for t in ax.texts]
    (2, ['Π1', 'Π2'])
    """
    Wm, _ = _layer_arrays(W, b)
    ax = axes_for(ax, Wm.shape[1])
    items = hyperplane_items(W, b, view, colors=colors, labels=labels, alpha=alpha, width=width, style=style)
    artists = render_matplotlib(items, ax)
    if Wm.shape[1] == 2:
        ax.set_xlim(view.lo[0], view.hi[0])
        ax.set_ylim(view.lo[1], view.hi[1])
    return artists


def plot_dual_basis(W, b, y=None, ax=None, *, scale: float = 1.0, negative: bool = False, which=None,
                    colors=None, labels: bool = True, apex: bool = True) -> list:
    """Draw the dual basis ``e_i`` (``w_j·e_i = δ_ij``) of ``relu(W x + b)`` as arrows from the apex.

    Parameters
    ----------
    W, b : the layer (``W`` square or wide with full row rank, 2 or 3 inputs).
    y : optional activity; the apex is then ``x*`` of :func:`preimage.dual_basis` for ``y``.
    ax : matplotlib axes (3-D for 3 inputs) or ``None``.
    scale : arrow length factor; ``negative`` draws ``−e_i`` (towards the negative side of
        ``Π_i``, the directions spanning preimages); ``which`` selects indices.
    apex : also mark the apex.

    Returns
    -------
    list of matplotlib artists.

    Examples
    --------
    >>> import numpy as np
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> arts = plot_dual_basis([[1.0, 0.5], [0.0, 1.0]], [0.0, -1.0], ax=ax)
    >>> len(ax.patches), len(ax.collections)       # two arrows, the apex marker
    (2, 1)
    """
    from ..layer.dual_basis import dual_basis

    Wm, bv = _layer_arrays(W, b)
    ax = axes_for(ax, Wm.shape[1])
    items = dual_basis_items(Wm, bv, y, scale=scale, negative=negative, which=which, colors=colors, labels=labels)
    if apex:
        items.append(Markers(dual_basis(Wm, bv, y).apex, color="k", size=25, label="apex"))
    arts = render_matplotlib(items, ax)
    if Wm.shape[1] == 2:
        ax.autoscale_view()
    return arts


def _cone_layer(layer) -> tuple[np.ndarray, np.ndarray]:
    from ..conv.circulant import CirculantLayer

    if isinstance(layer, CirculantLayer):
        if layer.size not in (2, 3):
            raise InvalidInputError(f"only circulant layers on 2 or 3 nodes can be drawn, got size {layer.size}")
        return np.asarray(layer.dense()), np.full(layer.size, layer.bias)
    if isinstance(layer, (tuple, list)) and len(layer) == 2:
        return _layer_arrays(*layer)
    raise InvalidInputError(f"layer must be a CirculantLayer or a tuple (W, b), got {type(layer).__name__}")


def cone_items(layer, view, *, planes: bool = True, cell: bool = True, identity: bool = True,
               edges: bool = True, alpha: float = 0.18, cell_color: Any = _style.RED) -> list:
    """Items for the polyhedral cone of a layer: hyperplanes, apex, identity line, and the
    cell ``{W x + b >= 0}`` with its edges ``apex + t·e_i`` (``t >= 0``), all inside ``view``."""
    from ..layer.dual_basis import dual_basis
    from ..polyhedra import Polyhedron

    W, b = _cone_layer(layer)
    n = W.shape[1]
    _check_view(view, n)
    items: list = []
    if planes:
        items.extend(hyperplane_items(W, b, view, alpha=alpha))
    D = dual_basis(W, b)
    if cell:
        shp = shape_of(Polyhedron(-W, b), view)  # {W x + b >= 0}
        if not shp.is_empty and shp.dim == n:
            polys = shp.polygons if n == 3 else shp.polygons[:1]
            items.append(Patch(polys, color=cell_color, alpha=alpha, edgecolor=None, label="cell W x + b ≥ 0"))
    if edges:
        for i in range(W.shape[0]):
            ray = Polyhedron(np.zeros((0, n)), np.zeros(0), np.delete(W, i, axis=0), -np.delete(b, i))
            ray = ray.add_constraints(A=-W[i:i + 1], b=[b[i]])  # w_i·x + b_i >= 0
            shp = shape_of(ray, view)
            if shp.kind == "segment":
                items.append(Lines(shp.polygons, color=_style.node_colour(i), width=2.5,
                                   label=f"edge along e{i + 1}"))
    if identity:
        diag = Polyhedron(np.zeros((0, n)), np.zeros(0), np.eye(n)[1:] - np.eye(n)[:-1], np.zeros(n - 1))
        shp = shape_of(diag, view)
        if shp.kind == "segment":
            items.append(Lines(shp.polygons, color="k", width=1.0, style="--", label="identity line"))
    if view.contains(D.apex):
        items.append(Markers(D.apex, color="k", size=30, label="apex"))
    return items


def plot_cone(layer, ax=None, *, view, planes: bool = True, cell: bool = True, identity: bool = True,
              edges: bool = True, alpha: float = 0.18) -> list:
    """Draw the regular polyhedral cone of a circulant layer (paper 000, §4).

    Parameters
    ----------
    layer : :class:`~preimage.conv.CirculantLayer` on 2 or 3 nodes, or a tuple ``(W, b)``.
    ax : matplotlib axes (3-D for 3 nodes) or ``None``.
    view : Box — the part of the input space drawn.
    planes, cell, identity, edges : draw the hyperplanes ``Π_i``; the cell
        ``{C x + b >= 0}``; the identity line through the apex; the cone's edges
        ``apex + t·e_i`` (``t >= 0``, along the dual basis).

    Returns
    -------
    list of matplotlib artists.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from preimage import Box
    >>> from preimage.conv import circulant
    >>> ax = Figure().add_subplot(projection="3d")
    >>> arts = plot_cone(circulant([1.0, -0.3, -0.2], 3, bias=-0.5), ax, view=Box([0, 0, 0], [3, 3, 3]))
    >>> len(arts) > 5
    True
    """
    W, b = _cone_layer(layer)
    ax = axes_for(ax, W.shape[1])
    arts = render_matplotlib(cone_items(layer, view, planes=planes, cell=cell, identity=identity, edges=edges,
                                        alpha=alpha), ax)
    if W.shape[1] == 2:
        ax.set_xlim(view.lo[0], view.hi[0])
        ax.set_ylim(view.lo[1], view.hi[1])
    else:
        ax.set_xlim(view.lo[0], view.hi[0])
        ax.set_ylim(view.lo[1], view.hi[1])
        ax.set_zlim(view.lo[2], view.hi[2])
    return arts
