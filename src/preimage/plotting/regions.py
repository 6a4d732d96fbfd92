"""Linear regions of a network on a 2-D box or a 2-D slice: :func:`plot_regions`."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidInputError
from . import _style
from ._shapes import shape_of
from .scene import Patch, axes_for, render_matplotlib

__all__ = ["plot_regions", "region_polygons"]


def _drawn_coordinates(domain, n: int) -> tuple[np.ndarray | None, str]:
    """Which two coordinates of the pieces are drawn (``None``: the pieces are already 2-D)."""
    from ..engine.domain import Slice
    from ..polyhedra import Box

    if isinstance(domain, Slice):
        if domain.dim != 2:
            raise InvalidInputError(f"plot_regions draws 2-D slices, got a {domain.dim}-D slice")
        return None, "slice"
    if isinstance(domain, Box):
        free = np.flatnonzero(domain.widths > 0)
        if free.size != 2:
            raise InvalidInputError(
                f"plot_regions draws a 2-D box (two coordinates of positive width), got {free.size}; "
                f"use a preimage.Slice for a 2-D section of a higher-dimensional input"
            )
        return (None if n == 2 else free), "box"
    raise InvalidInputError(f"domain must be a 2-D preimage.Box or a 2-D preimage.Slice, got {type(domain).__name__}")


def region_polygons(result, coords: np.ndarray | None = None) -> list[np.ndarray]:
    """One ordered polygon per region of a :func:`preimage.linear_regions` result.

    A region is drawn from its vertices where they are known (``Piece.kept_vertices``, in the
    piece's coordinates), else from the piece's polyhedron. ``coords``: the two input
    coordinates drawn (``None``: the pieces are 2-D).
    """
    from ._shapes import order_polygon, unique_points

    polys = []
    for piece in result.set:
        P = piece.polyhedron
        V = piece.kept_vertices
        if V is not None and V.shape[0] >= 3:
            W = unique_points(V)
            polys.append(order_polygon(W if coords is None else W[:, coords]))
            continue
        shp = shape_of(P)
        V = shp.polygons[0] if shp.polygons else np.zeros((0, P.ambient_dim))
        polys.append(V if coords is None else V[:, coords])
    return polys


def plot_regions(net, domain, ax=None, *, result=None, colors=None, cmap: str = "tab20", edgecolor: Any = "k",
                 linewidth: float = 0.4, alpha: float = 0.9, time_limit: float | None = None) -> list:
    """Draw every linear region of ``net`` in a 2-D box or slice, coloured by activation pattern.

    Parameters
    ----------
    net : preimage.Network
    domain : a :class:`~preimage.Box` with two free coordinates (a 2-D input, or a 2-D face
        of a larger box), or a 2-D :class:`~preimage.Slice` (drawn in slice coordinates).
    ax : matplotlib axes or ``None`` (the current axes).
    result : a :func:`preimage.linear_regions` result for ``net`` and ``domain``, if
        already computed (else it is computed here).
    colors : one colour per region; default: by pattern (:func:`_style.pattern_colours` over
        ``cmap``), so a pattern always gets the same colour.
    edgecolor, linewidth, alpha : appearance.
    time_limit : passed to :func:`preimage.linear_regions` (an incomplete result is drawn as
        far as it got, and the title says so).

    Returns
    -------
    list of matplotlib ``Polygon`` patches, one per region, in the order of ``result.set``.

    Examples
    --------
    >>> import numpy as np, preimage
    >>> from matplotlib.figure import Figure
    >>> net = preimage.Network.from_arrays([(np.array([[1.0, -1.0], [1.0, 1.0]]), np.zeros(2), True)])
    >>> ax = Figure().add_subplot()
    >>> patches = plot_regions(net, preimage.Box([-1, -1], [1, 1]), ax)
    >>> len(patches)
    4
    """
    from ..engine.api import linear_regions

    coords, _ = _drawn_coordinates(domain, net.input_dim)
    if result is None:
        result = linear_regions(net, domain, time_limit=time_limit)
    polys = region_polygons(result, coords)
    cols = list(colors) if colors is not None else _style.pattern_colours([p.pattern for p in result.set], cmap)
    items = [Patch((p,), color=cols[i % len(cols)], alpha=alpha, edgecolor=edgecolor, linewidth=linewidth)
             for i, p in enumerate(polys)]
    ax = axes_for(ax, 2)
    arts = render_matplotlib(items, ax)
    lo, hi = _limits(domain, coords)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    if not result.complete:
        ax.set_title(f"{len(polys)} regions (INCOMPLETE: {result.stopped_by})", fontsize=9)
    return arts


def _limits(domain, coords) -> tuple[np.ndarray, np.ndarray]:
    from ..engine.domain import Slice

    if isinstance(domain, Slice):
        return domain.lo, domain.hi
    if coords is None:
        return domain.lo, domain.hi
    return domain.lo[coords], domain.hi[coords]
