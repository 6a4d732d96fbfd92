"""The public names the issues rely on exist and are what they claim to be."""

from __future__ import annotations

import subprocess
import sys

import preimage


def test_public_names():
    for name in ["Network", "load", "from_torch", "Polyhedron", "Box", "PolyhedralSet", "dual_basis",
                 "layer_preimage", "PreimageError", "InvalidInputError", "UnsupportedLayerError",
                 "SolverError", "AmbiguousGeometryError"]:
        assert hasattr(preimage, name), name
    assert callable(preimage.Network.from_arrays)
    assert hasattr(preimage.Network, "forward") and hasattr(preimage.Network, "activations")
    for method in ("contains", "sample", "is_empty", "__len__"):
        assert hasattr(preimage.PolyhedralSet, method)


def test_error_hierarchy():
    assert issubclass(preimage.InvalidInputError, preimage.PreimageError)
    assert issubclass(preimage.InvalidInputError, ValueError)
    for cls in (preimage.UnsupportedLayerError, preimage.SolverError, preimage.AmbiguousGeometryError):
        assert issubclass(cls, preimage.PreimageError)


def test_import_is_light():
    """``import preimage`` must not pull in scipy, highspy, onnx or torch (they load lazily)."""
    code = ("import sys, preimage; "
            "print(','.join(m for m in ('scipy', 'highspy', 'onnx', 'torch', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
