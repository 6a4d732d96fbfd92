"""Pictures of the exact geometry: the only part of :mod:`preimage` that uses matplotlib/plotly.

matplotlib and plotly are imported inside the functions, so importing this package is
cheap; ``import preimage`` never imports it. Every function takes ``ax=None`` (the current
matplotlib axes; 3-D axes for 3-D inputs) and returns the artists it drew. What is drawn
is what the library computed — regions from :func:`preimage.linear_regions`, preimages
from :func:`preimage.preimage` / :func:`preimage.layer_preimage`, hyperplanes and dual
bases from :func:`preimage.hyperplanes` / :func:`preimage.dual_basis`, cones from
:func:`preimage.conv.circulant` — each convex piece drawn from its own vertices.

* :func:`plot_regions` — linear regions of a 2-D box or slice, coloured by pattern.
* :func:`plot_preimage` — the pieces of a preimage (2-D, 3-D, or through a slice).
* :func:`plot_hyperplanes`, :func:`plot_dual_basis`, :func:`plot_cone` — one layer.
* :func:`plot_contraction` — a contraction profile; :func:`contraction_flow` /
  :func:`plot_contraction_flow` — every layer's boundaries in the input space.
* :func:`explore` — one self-contained interactive HTML page for a 2-D or 3-D result
  (hover: pattern and affine map; click: a piece's neighbours); ``preimage explore``.
* :mod:`preimage.plotting.figures` — every figure of both papers, regenerated
  (``preimage figures --out DIR``).

Examples
--------
>>> import numpy as np, preimage
>>> from matplotlib.figure import Figure
>>> from preimage.plotting import plot_regions, plot_preimage
>>> net = preimage.Network.from_arrays([(np.array([[1.0, -1.0], [1.0, 1.0]]), [0.0, -0.5], True)])
>>> box = preimage.Box([-1, -1], [1, 1])
>>> ax = Figure().add_subplot()
>>> result = preimage.preimage(net, preimage.Activity([0.0, 0.0]), domain=box)
>>> len(plot_regions(net, box, ax)), len(plot_preimage(result, ax))
(4, 1)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

# public names and the submodule defining each: submodules load on first use, so that the
# CLI (which registers this package's subcommands) starts without importing them
_LAZY = {
    'BoundarySegment': 'contraction',
    'ContractionFlow': 'contraction',
    'contraction_flow': 'contraction',
    'plot_contraction': 'contraction',
    'plot_contraction_flow': 'contraction',
    'plot_cone': 'geometry',
    'plot_dual_basis': 'geometry',
    'plot_hyperplanes': 'geometry',
    'plot_preimage': 'preimages',
    'plot_regions': 'regions',
    'explore': 'explore',
    'explorer_data': 'explore',
    'piece_adjacency': 'explore',
}

__all__ = [
    "plot_regions",
    "plot_preimage",
    "plot_hyperplanes",
    "plot_dual_basis",
    "plot_cone",
    "plot_contraction",
    "contraction_flow",
    "plot_contraction_flow",
    "ContractionFlow",
    "BoundarySegment",
    "explore",
    "explorer_data",
    "piece_adjacency",
]


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY)


# the names for type checkers (mypy reads them; at run time they load lazily, above)
if TYPE_CHECKING:  # pragma: no cover
    from .contraction import BoundarySegment, ContractionFlow, contraction_flow, plot_contraction, plot_contraction_flow
    from .explore import explore, explorer_data, piece_adjacency
    from .geometry import plot_cone, plot_dual_basis, plot_hyperplanes
    from .preimages import plot_preimage
    from .regions import plot_regions
