"""Piecewise-linear activations as a protocol (see :mod:`preimage.activations.base`).

Each activation is one module: :class:`ReLU`, :class:`LeakyReLU`, :class:`HardTanh` (clip,
ReLU6), :class:`MaxPool` (1-D and 2-D) and :class:`Identity`. To add an elementwise one,
write a :class:`PiecewiseLinear` subclass listing its pieces (with a ``name`` and a ``spec``:
it registers itself for loading), import it below, and map the framework's operator to it in
the importers (:mod:`preimage.network.from_onnx`, :mod:`preimage.network.from_torch`). The
engine, the bounds, falsification, patterns and files need nothing more.
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

Activation.registry["piecewise_linear"] = PiecewiseLinear  # the generic one, saved with its pieces


def from_spec(spec: dict[str, Any]) -> Activation:
    """The activation described by ``spec`` (as written by :meth:`Activation.spec`)."""
    known = Activation.registry
    if not isinstance(spec, dict) or spec.get("name") not in known:
        raise InvalidInputError(f"an activation spec must name one of {sorted(known)}, got {spec!r}")
    args = {k: v for k, v in spec.items() if k != "name"}
    try:
        return known[spec["name"]](**args)
    except TypeError as exc:
        raise InvalidInputError(f"bad parameters for activation {spec['name']!r}: {exc}") from exc
