"""A one-object summary of the regular polyhedral cone of a circulant layer (paper 000, §4–5).

The hyperplanes ``Π_i = {x : c_i·x + b = 0}`` of a circulant layer form a regular polyhedral
cone around the identity line: apex ``−(b/a)·1``, one angle to the identity line, and a
rotation with ``d − 2`` degrees of freedom (``k − 2`` for a kernel of ``k`` entries).
:func:`cone_geometry` collects these, the invertibility verdict, a numerical check of the
cyclic symmetry and the nesting radius.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .circulant import CirculantLayer, InvertibilityCheck, SymmetryCheck
from .nesting import NestingRadius, nesting_radius

__all__ = ["ConeGeometry", "cone_geometry"]


@dataclass(frozen=True, slots=True, eq=False)
class ConeGeometry:
    """The cone of a circulant layer, summarised.

    Attributes
    ----------
    layer : the :class:`CirculantLayer` described.
    kernel_sum : ``a``.
    apex : ``−(b/a)·1`` of the signal's shape, or ``None`` when ``a = 0``.
    apex_reason : why (see :attr:`CirculantLayer.apex_reason`).
    angle : the angle (radians) of every hyperplane to the identity line.
    invertibility : the spectral decision (:class:`InvertibilityCheck`).
    symmetry : the numerical check that the shift maps ``Π_i`` onto ``Π_{i+1}``.
    rotational_degrees_of_freedom : ``max(k − 2, 0)`` (a parameter count, see
        :attr:`CirculantLayer.rotational_degrees_of_freedom`).
    max_rotational_degrees_of_freedom : ``d − 2``.
    nesting : the operational nesting radius (:func:`~preimage.conv.nesting_radius`).

    Examples
    --------
    >>> from preimage.conv import circulant
    >>> g = cone_geometry(circulant([1.0, -0.5, 0.2], 16, bias=-0.1))
    >>> round(g.kernel_sum, 12), round(g.apex_value, 12), g.invertible, g.symmetry.holds
    (0.7, 0.142857142857, True, True)
    >>> g.nesting.radius, g.rotational_degrees_of_freedom, g.max_rotational_degrees_of_freedom
    (0.5, 1, 14)
    """

    layer: CirculantLayer
    kernel_sum: float
    apex: np.ndarray | None
    apex_reason: str
    angle: float
    invertibility: InvertibilityCheck
    symmetry: SymmetryCheck
    rotational_degrees_of_freedom: int
    max_rotational_degrees_of_freedom: int
    nesting: NestingRadius

    @property
    def invertible(self) -> bool:
        return self.invertibility.invertible

    @property
    def apex_value(self) -> float | None:
        """The common coordinate ``−b/a`` of the apex, or ``None``."""
        return None if self.apex is None else float(self.apex.flat[0])

    def to_dict(self, *, full_apex: bool = True) -> dict[str, Any]:
        """A JSON-ready dictionary.

        ``nesting_radius`` is a number, the string ``"inf"`` (zeros preserved for every ``R``)
        or the string ``"never"`` (``b > 0``); ``apex`` is the flat list of ``d`` coordinates
        (or ``None``), and only ``apex_value`` when ``full_apex=False``.
        """
        inv = self.invertibility
        out: dict[str, Any] = {
            "kernel": self.layer.kernel.tolist(),
            "shape": list(self.layer.shape),
            "bias": self.layer.bias,
            "origin": list(self.layer.origin),
            "kernel_sum": self.kernel_sum,
            "apex_value": self.apex_value,
            "apex_reason": self.apex_reason,
            "angle": self.angle,
            "angle_degrees": math.degrees(self.angle),
            "invertible": inv.invertible,
            "smallest_eigenvalue_ratio": inv.smallest_ratio,
            "smallest_eigenvalue_frequency": list(inv.frequency),
            "nullity": inv.nullity,
            "symmetry_max_deviation": self.symmetry.max_deviation,
            "symmetry_holds": self.symmetry.holds,
            "symmetry_method": self.symmetry.method,
            "nesting_radius": self.nesting.to_json(),
            "positive_coupling": self.nesting.positive_coupling,
            "rotational_degrees_of_freedom": self.rotational_degrees_of_freedom,
            "max_rotational_degrees_of_freedom": self.max_rotational_degrees_of_freedom,
        }
        if full_apex:
            out["apex"] = None if self.apex is None else self.apex.ravel().tolist()
        return out


def cone_geometry(layer: CirculantLayer, *, seed: int = 0) -> ConeGeometry:
    """Summarise the cone of ``layer``: apex, angle, invertibility, symmetry, freedom, nesting.

    Parameters
    ----------
    layer : CirculantLayer
    seed : seed of the random points used by the symmetry check.

    Raises
    ------
    AmbiguousGeometryError
        When invertibility or ``a = 0`` is too close to call.
    """
    if not isinstance(layer, CirculantLayer):
        raise InvalidInputError(f"layer must be a CirculantLayer (see circulant()), got {type(layer).__name__}")
    return ConeGeometry(
        layer=layer,
        kernel_sum=layer.kernel_sum,
        apex=layer.apex,
        apex_reason=layer.apex_reason,
        angle=layer.angle,
        invertibility=layer.check_invertible(),
        symmetry=layer.verify_cyclic_symmetry(seed=seed),
        rotational_degrees_of_freedom=layer.rotational_degrees_of_freedom,
        max_rotational_degrees_of_freedom=layer.max_rotational_degrees_of_freedom,
        nesting=nesting_radius(layer),
    )
