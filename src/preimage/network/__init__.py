"""Networks of affine layers with piecewise-linear activations (ReLU, LeakyReLU, HardTanh,
MaxPool, ...), and importers (arrays, PyTorch, ONNX)."""

from __future__ import annotations

import os

from ..errors import InvalidInputError
from .convolution import ConvInfo, avgpool_matrix, conv_matrix
from .network import AffineLayer, Network

__all__ = ["AffineLayer", "ConvInfo", "Network", "conv_matrix", "avgpool_matrix", "load", "from_torch"]


def load(path, *, check: bool = True, **kwargs) -> Network:
    """Load a network from an ONNX file (``.onnx``) or a saved ``.npz``.

    ONNX imports are checked against onnxruntime on random inputs (``check=False`` skips
    the check). See :func:`preimage.network.from_onnx.load_onnx` for the supported ops.
    """
    p = os.fspath(path)
    if p.lower().endswith(".npz"):
        return Network.load_npz(p)
    if not os.path.exists(p):
        raise InvalidInputError(f"model path {p!r} does not exist")
    from .from_onnx import load_onnx

    return load_onnx(p, check=check, **kwargs)


def from_torch(module, input_shape, **kwargs) -> Network:
    """Convert a PyTorch ``nn.Sequential``; see :mod:`preimage.network.from_torch`."""
    from .from_torch import from_torch as _from_torch

    return _from_torch(module, input_shape, **kwargs)
