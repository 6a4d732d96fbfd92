"""preimage — the exact geometry of ReLU networks.

Given a network (numpy weights, PyTorch, ONNX), compute exactly which inputs produce a
given activity at a layer, the dual basis of a layer and how its hyperplanes sit, and more
(see the README). The vocabulary follows Carlsson et al., "The Preimage of Rectifier
Network Activities" (ICLR 2017 workshop) and "Geometry of Deep Convolutional Networks".

Examples
--------
>>> import numpy as np, preimage
>>> W, b = np.array([[1.0, 0.5], [0.0, 1.0]]), np.array([0.0, -1.0])
>>> net = preimage.Network.from_arrays([(W, b, True)])
>>> P = preimage.layer_preimage(W, b, [1.0, 0.0], domain="orthant")   # a bounded segment
>>> X = P.sample(5, seed=0)
>>> bool(np.allclose(net.forward(X), [1.0, 0.0]))
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import tolerances as tolerances  # a public submodule (the redundant alias re-exports it)
from ._lazy import lazy_attributes
from .errors import (
    AmbiguousGeometryError,
    ImportMismatchError,
    InvalidInputError,
    MissingDependencyError,
    PreimageError,
    RunAborted,
    SolverError,
    UnsupportedLayerError,
    WorkersLostError,
)

__version__ = "0.1.0"

# Public names and the module that defines them; modules load on first use so that
# ``import preimage`` stays fast (scipy, highspy, onnx, torch load only when needed).
_LAZY = {
    "Polyhedron": "preimage.polyhedra.polyhedron",
    "Box": "preimage.polyhedra.box",
    "PolyhedralSet": "preimage.polyhedra.polyhedral_set",
    "Piece": "preimage.polyhedra.polyhedral_set",
    "AffineMap": "preimage.polyhedra.polyhedral_set",
    "load_geometry": "preimage.engine.result_file",
    "Network": "preimage.network.network",
    "AffineLayer": "preimage.network.network",
    "load": "preimage.network",
    "from_torch": "preimage.network",
    "dual_basis": "preimage.layer.dual_basis",
    "hyperplanes": "preimage.layer.dual_basis",
    "DualBasis": "preimage.layer.dual_basis",
    "layer_preimage": "preimage.layer.preimage",
    "LayerPreimage": "preimage.layer.preimage",
    "preimage": "preimage.engine.api",
    "linear_regions": "preimage.engine.api",
    "verify": "preimage.engine.api",
    "resume": "preimage.engine.api",
    "nearest": "preimage.engine.nearest",
    "robustness_radius": "preimage.engine.nearest",
    "NearestResult": "preimage.engine.nearest",
    "PreimageResult": "preimage.engine.result",
    "Verdict": "preimage.engine.result",
    "Activity": "preimage.engine.targets",
    "AffineSubspace": "preimage.engine.targets",
    "Slice": "preimage.engine.domain",
    "load_vnnlib": "preimage.specs.vnnlib",
    "Spec": "preimage.specs.vnnlib",
}

__all__ = [
    "PreimageError",
    "InvalidInputError",
    "UnsupportedLayerError",
    "SolverError",
    "AmbiguousGeometryError",
    "ImportMismatchError",
    "MissingDependencyError",
    "WorkersLostError",
    "RunAborted",
    # the lazy names (the keys of _LAZY, in order), written out so that type checkers read
    # __all__ (mypy --strict rejects ``preimage.Network`` when __all__ is ``[..., *_LAZY]``);
    # tests/test_typing.py checks that the two lists agree
    "Polyhedron",
    "Box",
    "PolyhedralSet",
    "Piece",
    "AffineMap",
    "load_geometry",
    "Network",
    "AffineLayer",
    "load",
    "from_torch",
    "dual_basis",
    "hyperplanes",
    "DualBasis",
    "layer_preimage",
    "LayerPreimage",
    "preimage",
    "linear_regions",
    "verify",
    "resume",
    "nearest",
    "robustness_radius",
    "NearestResult",
    "PreimageResult",
    "Verdict",
    "Activity",
    "AffineSubspace",
    "Slice",
    "load_vnnlib",
    "Spec",
]


__getattr__, __dir__ = lazy_attributes("preimage", globals(), _LAZY)


if TYPE_CHECKING:  # pragma: no cover
    from .engine.api import linear_regions, preimage, resume, verify
    from .engine.domain import Slice
    from .engine.nearest import NearestResult, nearest, robustness_radius
    from .engine.result import PreimageResult, Verdict
    from .engine.result_file import load_geometry
    from .engine.targets import Activity, AffineSubspace
    from .layer.dual_basis import DualBasis, dual_basis, hyperplanes
    from .layer.preimage import LayerPreimage, layer_preimage
    from .network import from_torch, load
    from .network.network import AffineLayer, Network
    from .polyhedra.box import Box
    from .polyhedra.polyhedral_set import AffineMap, Piece, PolyhedralSet
    from .polyhedra.polyhedron import Polyhedron
    from .specs.vnnlib import Spec, load_vnnlib
