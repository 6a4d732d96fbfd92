"""Piecewise-linear activations as a protocol (see :mod:`preimage.activations.base`).

Each activation is one module: :class:`ReLU`, :class:`LeakyReLU`, :class:`HardTanh` (clip,
ReLU6), :class:`MaxPool` (1-D and 2-D) and :class:`Identity`. To add an elementwise one,
write a :class:`PiecewiseLinear` subclass listing its pieces, register it below, and map the
framework's operator to it in the importers (:mod:`preimage.network.from_onnx`,
:mod:`preimage.network.from_torch`).
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInputError
from .base import Activation, PiecewiseLinear, UnitTable
from .hardtanh import HardTanh
from .identity import Identity
from .leaky_relu import LeakyReLU
from .maxpool import MaxPool
from .relu import ReLU

__all__ = ["Activation", "PiecewiseLinear", "UnitTable", "ReLU", "LeakyReLU", "HardTanh", "MaxPool", "Identity",
           "from_spec"]

_BY_NAME: dict[str, type[Activation]] = {
    "relu": ReLU, "leaky_relu": LeakyReLU, "hardtanh": HardTanh, "maxpool": MaxPool, "identity": Identity,
    "piecewise_linear": PiecewiseLinear,
}


def from_spec(spec: dict[str, Any]) -> Activation:
    """The activation described by ``spec`` (as written by :meth:`Activation.spec`)."""
    if not isinstance(spec, dict) or spec.get("name") not in _BY_NAME:
        raise InvalidInputError(f"an activation spec must name one of {sorted(_BY_NAME)}, got {spec!r}")
    args = {k: v for k, v in spec.items() if k != "name"}
    try:
        return _BY_NAME[spec["name"]](**args)
    except TypeError as exc:
        raise InvalidInputError(f"bad parameters for activation {spec['name']!r}: {exc}") from exc
