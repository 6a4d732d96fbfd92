"""Every numerical tolerance of :mod:`preimage` lives here.

Constraint rows are normalised to unit length throughout the library, so the
feasibility tolerances below are Euclidean distances in the space where the
constraint lives. Functions take ``tol=None`` and fall back to these values.

Nothing else in the package spells a tolerance as a literal.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "FEASIBILITY",
    "CONTAINS",
    "RANK_RELATIVE",
    "AMBIGUOUS_RANK_RELATIVE",
    "INTERIOR",
    "IMPORT_ABSOLUTE",
    "IMPORT_RELATIVE",
    "ACTIVITY_ABSOLUTE",
    "ACTIVITY_RELATIVE",
    "SOLVER_FEASIBILITY",
    "SOLVER_OPTIMALITY",
    "ZERO_ROW",
    "CONTINUITY",
    "VERTEX_SIGN",
    "ENGINE_SIGN_BAND",
    "LP_SIGN_BAND",
    "FACET_MATCH",
    "BACKWARD_WITNESS",
    "BACKWARD_FLAT",
    "MILP_GAP_ABSOLUTE",
    "MILP_GAP_RELATIVE",
    "MILP_FEASIBILITY",
    "DISTANCE_MATCH",
    "ADVERSARIAL_MARGIN",
    "GRADIENT_ACTIVITY",
    "RADIUS_BISECTION",
    "resolve",
]

#: Distance by which a point may violate a constraint and still count as feasible.
FEASIBILITY: float = 1e-9

#: Default tolerance of ``contains``: distance outside a piece still counted inside.
CONTAINS: float = 1e-7

#: Singular values below ``RANK_RELATIVE * s_max`` count as zero.
RANK_RELATIVE: float = 1e-12

#: Singular values in ``[RANK_RELATIVE, AMBIGUOUS_RANK_RELATIVE) * s_max`` are too
#: close to call: the rank decision raises :class:`AmbiguousGeometryError`.
AMBIGUOUS_RANK_RELATIVE: float = 1e-9

#: A polyhedron whose largest inscribed ball (in its affine hull) has a radius
#: below this is treated as lower-dimensional.
INTERIOR: float = 1e-9

#: Importers accept a converted network whose outputs differ from the source
#: model's by at most ``IMPORT_ABSOLUTE + IMPORT_RELATIVE * |reference|``
#: (the source models compute in float32).
IMPORT_ABSOLUTE: float = 1e-5
#: Relative part of the importers' check (see ``IMPORT_ABSOLUTE``).
IMPORT_RELATIVE: float = 1e-4

#: Two activities are equal when they differ by at most
#: ``ACTIVITY_ABSOLUTE + ACTIVITY_RELATIVE * |y|`` (used by checks and tests).
ACTIVITY_ABSOLUTE: float = 1e-7
#: Relative part of the activity comparison (see ``ACTIVITY_ABSOLUTE``).
ACTIVITY_RELATIVE: float = 1e-7

#: HiGHS primal feasibility tolerance (``SOLVER_OPTIMALITY`` is the dual one).
SOLVER_FEASIBILITY: float = 1e-9
#: HiGHS dual feasibility tolerance.
SOLVER_OPTIMALITY: float = 1e-9

#: A constraint row whose norm is below this is treated as the zero row.
ZERO_ROW: float = 1e-12

#: The pieces of a piecewise-linear activation must meet at its breakpoints to within this
#: (relative and absolute): the activation is continuous.
CONTINUITY: float = 1e-12

#: A vertex whose signed distance to a hyperplane is within this is on it (used outside
#: the engine: plotting, convolutional cells, ranks of vertex sets).
VERTEX_SIGN: float = 1e-9

#: Ambiguity band of the engine's sign decisions (vertex backend, compiled walk, target
#: clipping and slicing). Each is made on a distance scale: the signed distance
#: ``s_v = (a·x_v + c) / ‖a‖`` of every vertex ``x_v`` of the region to the hyperplane
#: ``a·u + c = 0`` (``a`` in chart coordinates; the norm is taken once per row). A vertex
#: with ``|s_v| <= ENGINE_SIGN_BAND * (1 + max_w |s_w|)`` is in the band: its float sign is
#: not trusted and is settled exactly (:mod:`preimage.engine.exact`, rational arithmetic on
#: its tight rows); outside the band the float sign is taken. The band is relative to the
#: region's extent along the row's normal, so the decisions do not depend on the scale
#: of a neuron's weights.
ENGINE_SIGN_BAND: float = 1e-9

#: Ambiguity band of the LP backend's sign decisions, on the same distance scale: interval
#: bounds and LP optima of ``(a·u + c) / ‖a‖`` over a region whose LP rows are normalised.
#: A bound beyond ``LP_SIGN_BAND * (1 + |bound|)`` decides a sign; an LP optimum inside the
#: band means that the region reaches past the neuron's hyperplane by less than the band (a
#: sliver below the solver's resolution), and the LP's side is taken (see
#: :mod:`preimage.engine.region_lp`; unlike the vertex backend, this is not re-checked in
#: exact arithmetic). It is well above ``SOLVER_FEASIBILITY``: an LP point may violate the
#: region's unit rows by that much.
LP_SIGN_BAND: float = 1e-7

#: Two unit-norm facet rows (and their offsets) within this are the same hyperplane (the
#: explorer's candidate test for neighbouring pieces; an LP then decides).
FACET_MATCH: float = 1e-6

#: The backward procedure (:mod:`preimage.layer.backward`) reuses an LP point of a node for the
#: branch it already satisfies: a unit's ``h_u`` and ``z_u`` (rows normalised by ``‖w_u‖``) within
#: this distance of the branch's equations count as satisfying it (else an LP decides). A wrong
#: call only costs an LP elsewhere, never a piece: every leaf is re-solved.
BACKWARD_WITNESS: float = 1e-9

#: A face piece of the backward procedure whose zero unit ``i`` has ``min z_i / ‖w_i‖`` above
#: ``-BACKWARD_FLAT`` lies on the hyperplane ``z_i = 0``: it is the same set as the piece with
#: ``i`` positive (``h_i = z_i = 0`` there), which is kept instead.
BACKWARD_FLAT: float = 1e-9

#: Two cone angles (radians, :attr:`preimage.conv.CirculantLayer.angle`) closer than this are
#: equal: a cone is "wider than its predecessor" (paper 000, §5, Fig. 2) only by more.
ANGLE: float = 1e-12

#: HiGHS's MIP gap tolerances: an "optimal" MILP answer is proven to within
#: ``MILP_GAP_ABSOLUTE + MILP_GAP_RELATIVE * |optimum|`` (exact distances,
#: :mod:`preimage.engine.nearest`).
MILP_GAP_ABSOLUTE: float = 1e-9
#: Relative part of the MIP gap (see ``MILP_GAP_ABSOLUTE``).
MILP_GAP_RELATIVE: float = 1e-9
#: HiGHS's MIP feasibility (and integrality) tolerance.
MILP_FEASIBILITY: float = 1e-9

#: A distance found and a proven lower bound closer than
#: ``DISTANCE_MATCH * (1 + distance)`` certify the optimum (the nearest point's search).
DISTANCE_MATCH: float = 1e-6

#: An adversarial input returned by ``robustness_radius`` beats the label's logit by at
#: least ``ADVERSARIAL_MARGIN * (1 + max |logit|)`` (strictly past the decision boundary).
ADVERSARIAL_MARGIN: float = 1e-6

#: The activity error ``max |h_k(x) − y|`` that ``analysis.gradient_inversion`` runs to by
#: default, so that its regulariser values compare with the exact natural preimage's.
GRADIENT_ACTIVITY: float = 1e-3

#: The bisection of a radius on an exact predicate (``preimage.conv.as_written_radius``) stops
#: when its bracket is narrower than this share of its upper end (the lower end is returned).
RADIUS_BISECTION: float = 1e-3

#: Machine epsilon of float64, for scale-aware tolerances.
EPS: float = float(np.finfo(np.float64).eps)


def resolve(tol: float | None, default: float) -> float:
    """Return ``tol`` if given (checked to be a finite non-negative number), else ``default``.

    Examples
    --------
    >>> resolve(None, FEASIBILITY) == FEASIBILITY
    True
    >>> resolve(1e-6, FEASIBILITY)
    1e-06
    """
    if tol is None:
        return default
    value = float(tol)
    if not np.isfinite(value) or value < 0:
        from .errors import InvalidInputError

        raise InvalidInputError(f"tol must be a finite non-negative number, got {tol!r}")
    return value
