"""Preimages drawn piece by piece: :func:`plot_preimage`.

A preimage — of an activity, a polyhedron or an affine manifold, through one layer or a
whole network — is a finite union of convex pieces (:class:`~preimage.PolyhedralSet`).
Each piece is drawn from its own vertices as what it is: a point, a segment, a polygon or
(in 3-D) a polytope. Unbounded sets (one layer's preimage cone) are cut by a viewing box;
sets in more than 3 dimensions are drawn on a 2-D or 3-D :class:`~preimage.Slice`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import InvalidInputError
from . import _style
from ._shapes import Shape, as_polyhedron, in_slice, shape_of
from .scene import Lines, Markers, Patch, axes_for, render_matplotlib

__all__ = ["plot_preimage", "preimage_items", "preimage_shapes", "pieces_of"]


def pieces_of(obj: Any) -> list:
    """The convex pieces (polyhedra) of a preimage-like object, in order.

    Accepts a :class:`~preimage.PreimageResult`, :class:`~preimage.PolyhedralSet`,
    :class:`~preimage.Piece`, :class:`~preimage.Polyhedron`, :class:`~preimage.Box`, a layer
    preimage (:func:`preimage.layer_preimage`), a pulled-back manifold
    (:func:`preimage.conv.pullback`), a cell map (:func:`preimage.conv.cell_map`), or a list of these.
    """
    from ..polyhedra import Box, Piece, PolyhedralSet, Polyhedron

    if isinstance(obj, (Polyhedron, Box, Piece)):
        return [as_polyhedron(obj)]
    if isinstance(obj, PolyhedralSet):
        return [p.polyhedron for p in obj]
    inner = getattr(obj, "set", None)
    if isinstance(inner, PolyhedralSet):  # PreimageResult
        return [p.polyhedron for p in inner]
    if hasattr(obj, "polyhedron") and isinstance(obj.polyhedron, Polyhedron):  # LayerPreimage
        return [obj.polyhedron]
    if hasattr(obj, "pieces") and not isinstance(obj, (list, tuple)):  # PiecewiseAffineManifold
        return [p.polyhedron for p in obj.pieces]
    if hasattr(obj, "cells"):  # CellMap
        return [c.polyhedron for c in obj.cells]
    if isinstance(obj, (list, tuple)):
        out = []
        for o in obj:
            out.extend(pieces_of(o))
        return out
    raise InvalidInputError(
        "expected a preimage result, a PolyhedralSet, a Polyhedron/Box/Piece, a layer preimage, "
        f"a pulled-back manifold, a cell map, or a list of these; got {type(obj).__name__}"
    )


def preimage_shapes(result: Any, *, view=None, slice=None) -> list[Shape]:
    """The drawable :class:`~preimage.plotting._shapes.Shape` of every piece (empty ones kept,
    so that shapes line up with pieces)."""
    polys = pieces_of(result)
    out = []
    for P in polys:
        if slice is not None:
            P = in_slice(P, slice)
        if P.ambient_dim not in (2, 3):
            raise InvalidInputError(
                f"the pieces live in R^{P.ambient_dim}: "
                "pass slice=preimage.Slice(...) to draw them on a 2-D or 3-D slice"
            )
        out.append(shape_of(P, view))
    return out


def preimage_items(result: Any, *, view=None, slice=None, color: Any = _style.RED,
                   colors: Sequence[Any] | None = None, alpha: float = 0.45, edgecolor: Any = None,
                   width: float = 2.0, label: str | None = None, point_size: float = 30.0) -> list:
    """Items drawing every piece (points, segments, polygons, polytope faces)."""
    return _items(preimage_shapes(result, view=view, slice=slice), color=color, colors=colors, alpha=alpha,
                  edgecolor=edgecolor, width=width, label=label, point_size=point_size)


def _items(shapes: list[Shape], *, color, colors, alpha, edgecolor, width, label, point_size=30.0) -> list:
    items: list = []
    first = True
    for k, shp in enumerate(shapes):
        if shp.is_empty:
            continue
        col = colors[k % len(colors)] if colors is not None else color
        lab = label if first else None
        if shp.kind == "point":
            items.append(Markers(shp.polygons[0], color=col, size=point_size, label=lab))
        elif shp.kind == "segment":
            items.append(Lines(shp.polygons, color=col, width=width, label=lab))
        else:
            items.append(Patch(shp.polygons, color=col, alpha=alpha,
                               edgecolor=col if edgecolor is None else edgecolor, linewidth=0.6, label=lab))
        first = False
    return items


def plot_preimage(result, ax=None, *, view=None, slice=None, color: Any = _style.RED, colors=None,
                  alpha: float = 0.45, edgecolor: Any = None, width: float = 2.0, label: str | None = None) -> list:
    """Draw a preimage piece by piece (2-D or 3-D; higher dimensions through a slice).

    Parameters
    ----------
    result : a :class:`~preimage.PreimageResult`, :class:`~preimage.PolyhedralSet`, a layer
        preimage, a :class:`~preimage.Polyhedron`, a pulled-back manifold, ... (see
        :func:`pieces_of`).
    ax : matplotlib axes (3-D for 3-D pieces) or ``None``.
    view : Box, optional — cut the pieces to this box (needed for unbounded sets, e.g. a
        layer preimage on all of ``Rⁿ``).
    slice : :class:`~preimage.Slice`, optional — for pieces in ``Rⁿ``, ``n > 3``: draw their
        intersection with the slice, in slice coordinates ``t`` (exact: each piece's rows
        pulled back through ``x = origin + directions @ t``). A result computed *on* a slice
        domain is already in slice coordinates and needs none.
    color / colors : one colour, or one per piece.
    alpha, edgecolor, width, label : appearance.

    Returns
    -------
    list of matplotlib artists: a marker per 0-D piece, a line per 1-D piece, a polygon per
    2-D piece (a ``Poly3DCollection`` per piece in 3-D).

    Examples
    --------
    >>> import numpy as np
    >>> from matplotlib.figure import Figure
    >>> from preimage import Box, layer_preimage
    >>> P = layer_preimage(np.eye(2), [-0.5, -0.5], [0.0, 0.0], domain=None)   # a quadrant
    >>> ax = Figure().add_subplot()
    >>> arts = plot_preimage(P, ax, view=Box([-1, -1], [1, 1]))
    >>> len(arts), np.round(arts[0].get_xy()[:-1], 6).tolist()
    (1, [[-1.0, -1.0], [0.5, -1.0], [0.5, 0.5], [-1.0, 0.5]])
    """
    shapes = preimage_shapes(result, view=view, slice=slice)
    dims = {s.polygons[0].shape[1] for s in shapes if not s.is_empty}
    dim = dims.pop() if dims else 2
    ax = axes_for(ax, dim)
    items = _items(shapes, color=color, colors=colors, alpha=alpha, edgecolor=edgecolor, width=width, label=label)
    arts = render_matplotlib(items, ax)
    if dim == 2:
        ax.autoscale_view()
    return arts
