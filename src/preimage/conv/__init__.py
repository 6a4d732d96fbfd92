"""Convolutional geometry: circulant layers as regular polyhedral cones (paper 000, §2–5) and
the accumulated kernels and null vectors of convolutions (paper 002, §3).

* :func:`circulant` / :class:`CirculantLayer` — a kernel on a periodic signal or image:
  FFT products, eigenvalues, invertibility, the dual basis ``e_i`` (``C e_i = δ_i``), apex,
  angle, cyclic symmetry; :func:`conv_vs_circulant` — how far the real convolution is.
* :func:`cone_geometry` — a summary of the cone.
* :func:`nesting_radius` (operational, any ``d``) and :func:`literal_nesting` (the §5
  definition for ``d <= 8``) — nested cones; :func:`nesting_report` — every reading of the §5
  definition (as written, operational, cone containment, angle) with its radius;
  :func:`cone_orientation` / :func:`orientation_freedom` — the cone's rotation.
* :func:`effective_kernel`, :func:`constant_null_vector`, :func:`step_edge_null_vector`;
  :func:`step_edge_members` — step edges at a real input's negative-response locations that
  keep its first-layer activity (paper 002, §3, on a trained CNN).
* :func:`cell_map` — every cell of a layer's arrangement in a box of the orthant, the output
  intersection subspace it maps to, and whether dimension is non-increasing (Fig. 3:
  :func:`paper_fig3_identity`, :func:`paper_fig3_wide_cone`).
* :func:`contraction_profile` — per layer, the coordinate-subspace dimension of samples and
  the dimension of their local preimage (:func:`local_preimage_piece`).
* :func:`pullback` — the piecewise-affine input manifold mapped onto an affine output
  manifold, with its gluing graph (Fig. 4: :func:`paper_fig4_pullback`).
* :func:`seed_pullback` — the same manifold built as paper 000 §6 describes: spans of selected
  dual-basis components seeded layer by layer (Fig. 4, right: :func:`paper_fig4_seeding`).
* :func:`activity_preimages_by_layer` — exact activity preimages of an example at every
  layer of a real CNN, under a budget.

Examples
--------
>>> from preimage.conv import circulant, cone_geometry
>>> layer = circulant([1.0, -0.5, 0.2], 16, bias=-0.1)
>>> g = cone_geometry(layer)
>>> g.invertible, g.nesting.to_json()
(True, 0.5)
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from .._lazy import lazy_attributes

# public names and the submodule defining each: submodules load on first use, so that the
# CLI (which registers this package's subcommands) starts without importing them
_LAZY = {
    'MAX_DENSE_SIZE': 'circulant',
    'CirculantLayer': 'circulant',
    'ConvCirculantComparison': 'circulant',
    'InvertibilityCheck': 'circulant',
    'SymmetryCheck': 'circulant',
    'circulant': 'circulant',
    'conv_vs_circulant': 'circulant',
    'MAX_CELL_MAP_DIM': 'cells',
    'Cell': 'cells',
    'CellMap': 'cells',
    'CoordinateFace': 'cells',
    'cell_map': 'cells',
    'paper_fig3_identity': 'cells',
    'paper_fig3_wide_cone': 'cells',
    'ActivityPreimagesByLayer': 'cnn',
    'LayerActivityPreimage': 'cnn',
    'activity_preimages_by_layer': 'cnn',
    'ConeGeometry': 'cone',
    'cone_geometry': 'cone',
    'ContractionProfile': 'contraction',
    'contraction_profile': 'contraction',
    'local_preimage_piece': 'contraction',
    'StepEdge': 'kernels',
    'constant_null_vector': 'kernels',
    'effective_bias': 'kernels',
    'effective_kernel': 'kernels',
    'step_edge_null_vector': 'kernels',
    'StepEdgeMembers': 'step_edges',
    'step_edge_members': 'step_edges',
    'MAX_LITERAL_SIZE': 'nesting',
    'LiteralNesting': 'nesting',
    'NestingRadius': 'nesting',
    'SubsetNesting': 'nesting',
    'element_map': 'nesting',
    'literal_nesting': 'nesting',
    'nesting_radius': 'nesting',
    'restricted_nesting_fraction': 'nesting',
    'row_nesting_radii': 'nesting',
    'MAX_AS_WRITTEN_SIZE': 'nesting_readings',
    'AUTO_RADII_SIZE': 'nesting_readings',
    'AsWrittenNesting': 'nesting_readings',
    'AsWrittenSubset': 'nesting_readings',
    'ConeContainment': 'nesting_readings',
    'NestingReport': 'nesting_readings',
    'Reading': 'nesting_readings',
    'as_written_radius': 'nesting_readings',
    'cone_containment': 'nesting_readings',
    'nested_as_written': 'nesting_readings',
    'nesting_report': 'nesting_readings',
    'ConeOrientation': 'rotation',
    'OrientationFreedom': 'rotation',
    'cone_orientation': 'rotation',
    'orientation_freedom': 'rotation',
    'Gluing': 'pullback',
    'ManifoldPiece': 'pullback',
    'PiecewiseAffineManifold': 'pullback',
    'paper_fig4_network': 'pullback',
    'paper_fig4_pullback': 'pullback',
    'pullback': 'pullback',
    'random_pullback_example': 'pullback',
    'SeededManifold': 'seeding',
    'Span': 'seeding',
    'paper_fig4_seeding': 'seeding',
    'seed_pullback': 'seeding',
}

__all__ = [
    "ActivityPreimagesByLayer",
    "Cell",
    "CellMap",
    "CirculantLayer",
    "ConeGeometry",
    "ContractionProfile",
    "ConvCirculantComparison",
    "CoordinateFace",
    "Gluing",
    "InvertibilityCheck",
    "LayerActivityPreimage",
    "LiteralNesting",
    "MAX_CELL_MAP_DIM",
    "MAX_DENSE_SIZE",
    "MAX_LITERAL_SIZE",
    "ManifoldPiece",
    "NestingRadius",
    "PiecewiseAffineManifold",
    "StepEdge",
    "StepEdgeMembers",
    "SubsetNesting",
    "SymmetryCheck",
    "activity_preimages_by_layer",
    "cell_map",
    "circulant",
    "cone_geometry",
    "constant_null_vector",
    "contraction_profile",
    "conv_vs_circulant",
    "effective_bias",
    "effective_kernel",
    "element_map",
    "literal_nesting",
    "local_preimage_piece",
    "nesting_radius",
    "paper_fig3_identity",
    "paper_fig3_wide_cone",
    "paper_fig4_network",
    "paper_fig4_pullback",
    "pullback",
    "random_pullback_example",
    "SeededManifold",
    "Span",
    "paper_fig4_seeding",
    "seed_pullback",
    "restricted_nesting_fraction",
    "row_nesting_radii",
    "step_edge_members",
    "MAX_AS_WRITTEN_SIZE",
    "AUTO_RADII_SIZE",
    "AsWrittenNesting",
    "AsWrittenSubset",
    "ConeContainment",
    "NestingReport",
    "Reading",
    "as_written_radius",
    "cone_containment",
    "nested_as_written",
    "nesting_report",
    "ConeOrientation",
    "OrientationFreedom",
    "cone_orientation",
    "orientation_freedom",
    "step_edge_null_vector",
]


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY)


# the names for type checkers (mypy reads them; at run time they load lazily, above)
if TYPE_CHECKING:  # pragma: no cover
    from .cells import (
        MAX_CELL_MAP_DIM,
        Cell,
        CellMap,
        CoordinateFace,
        cell_map,
        paper_fig3_identity,
        paper_fig3_wide_cone,
    )
    from .circulant import (
        MAX_DENSE_SIZE,
        CirculantLayer,
        ConvCirculantComparison,
        InvertibilityCheck,
        SymmetryCheck,
        circulant,
        conv_vs_circulant,
    )
    from .cnn import ActivityPreimagesByLayer, LayerActivityPreimage, activity_preimages_by_layer
    from .cone import ConeGeometry, cone_geometry
    from .contraction import ContractionProfile, contraction_profile, local_preimage_piece
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
    from .nesting_readings import (
        AUTO_RADII_SIZE,
        MAX_AS_WRITTEN_SIZE,
        AsWrittenNesting,
        AsWrittenSubset,
        ConeContainment,
        NestingReport,
        Reading,
        as_written_radius,
        cone_containment,
        nested_as_written,
        nesting_report,
    )
    from .pullback import (
        Gluing,
        ManifoldPiece,
        PiecewiseAffineManifold,
        paper_fig4_network,
        paper_fig4_pullback,
        pullback,
        random_pullback_example,
    )
    from .rotation import ConeOrientation, OrientationFreedom, cone_orientation, orientation_freedom
    from .seeding import SeededManifold, Span, paper_fig4_seeding, seed_pullback
    from .step_edges import StepEdgeMembers, step_edge_members


#: public functions named like the submodule that defines them
_SHADOWED = frozenset(name for name, module in _LAZY.items() if name == module)


class _Package(types.ModuleType):
    """Keeps ``preimage.conv.circulant`` / ``.pullback`` the functions (as eager imports made
    them) when their submodules load later: the import system's ``setattr(package, name,
    submodule)`` is ignored for those names."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
