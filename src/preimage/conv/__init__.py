"""Convolutional geometry: circulant layers as regular polyhedral cones (paper 000, §2–5) and
the accumulated kernels and null vectors of convolutions (paper 002, §3).

* :func:`circulant` / :class:`CirculantLayer` — a kernel on a periodic signal or image:
  FFT products, eigenvalues, invertibility, the dual basis ``e_i`` (``C e_i = δ_i``), apex,
  angle, cyclic symmetry; :func:`conv_vs_circulant` — how far the real convolution is.
* :func:`cone_geometry` — a summary of the cone.
* :func:`nesting_radius` (operational, any ``d``) and :func:`literal_nesting` (the §5
  definition for ``d <= 8``) — nested cones.
* :func:`effective_kernel`, :func:`constant_null_vector`, :func:`step_edge_null_vector`.

Examples
--------
>>> from preimage.conv import circulant, cone_geometry
>>> layer = circulant([1.0, -0.5, 0.2], 16, bias=-0.1)
>>> g = cone_geometry(layer)
>>> g.invertible, g.nesting.to_json()
(True, 0.5)
"""

from __future__ import annotations

from .circulant import (
    MAX_DENSE_SIZE,
    CirculantLayer,
    ConvCirculantComparison,
    InvertibilityCheck,
    SymmetryCheck,
    circulant,
    conv_vs_circulant,
)
from .cone import ConeGeometry, cone_geometry
from .kernels import StepEdge, constant_null_vector, effective_bias, effective_kernel, step_edge_null_vector
from .nesting import (
    MAX_LITERAL_SIZE,
    LiteralNesting,
    NestingRadius,
    SubsetNesting,
    element_map,
    literal_nesting,
    nesting_radius,
    restricted_nesting_fraction,
    row_nesting_radii,
)

__all__ = [
    "CirculantLayer",
    "ConeGeometry",
    "ConvCirculantComparison",
    "InvertibilityCheck",
    "LiteralNesting",
    "MAX_DENSE_SIZE",
    "MAX_LITERAL_SIZE",
    "NestingRadius",
    "StepEdge",
    "SubsetNesting",
    "SymmetryCheck",
    "circulant",
    "cone_geometry",
    "constant_null_vector",
    "conv_vs_circulant",
    "effective_bias",
    "effective_kernel",
    "element_map",
    "literal_nesting",
    "nesting_radius",
    "restricted_nesting_fraction",
    "row_nesting_radii",
    "step_edge_null_vector",
]
