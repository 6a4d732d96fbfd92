"""Exact-constrained natural preimages, compared with gradient-based inversion.

Mahendran & Vedaldi (2015, 2016) invert a representation numerically: starting from noise,
they minimise ``‖φ(x) − φ(x₀)‖² / ‖φ(x₀)‖² + λ R(x)`` by gradient descent, with a
regulariser ``R`` that pulls ``x`` towards natural images. The result reproduces the
activity only approximately. Here the activity constraint is exact: among the inputs whose
layer-``k`` activity *equals* that of ``x₀`` (the preimage, a union of polyhedra), find one
that minimises a convex regulariser —

* ``"l2"``: ``‖x − r‖²`` for a reference image ``r`` (default 0; the data mean is the
  counterpart of Mahendran & Vedaldi's mean-subtracted norm) — a QP per piece;
* ``"tv"``: the anisotropic total variation ``Σ |x[i, j+1] − x[i, j]| + |x[i+1, j] − x[i, j]|``
  (summed over channels) — an LP per piece, with one auxiliary variable per difference.

The minimum over a union is the least of the minima over its pieces. The pieces come from
the engine (:func:`preimage.preimage`) within a budget; the piece containing ``x₀`` itself
(:func:`~preimage.analysis.local_preimage`) is always included, so an answer exists even when
the enumeration is cut short — ``complete`` then says the minimum is over the pieces seen.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import tolerances
from .._validation import as_vector, require_relu_layers
from ..errors import AmbiguousGeometryError, InvalidInputError, SolverError
from ..network import Network
from ..polyhedra import Box, Polyhedron
from . import image_shape as _image_shape
from .mixing import PieceProgram, _check_network, _figure, _freeze, local_preimage, resolve_domain

__all__ = [
    "REGULARISERS",
    "regulariser_value",
    "tv_operator",
    "natural_preimage",
    "NaturalPreimage",
    "gradient_inversion",
    "GradientInversion",
    "compare_inversions",
    "InversionComparison",
    "plot_inversions",
    "GRADIENT_TOLERANCE",
]

log = logging.getLogger(__name__)

#: The convex regularisers: squared distance to a reference image, anisotropic total variation.
REGULARISERS = ("l2", "tv")


def _check_regulariser(regulariser) -> str:
    if not isinstance(regulariser, str) or regulariser.lower() not in REGULARISERS:
        raise InvalidInputError(
            f"regulariser must be one of {list(REGULARISERS)} (squared L2 distance to a reference image, "
            f"or total variation), got {regulariser!r}"
        )
    return regulariser.lower()


def tv_operator(shape: tuple[int, int, int]) -> np.ndarray:
    """The forward differences ``D`` of an image of shape ``(c, h, w)`` (flattened row-major):
    horizontal then vertical, per channel; ``TV(x) = ‖D x‖₁``.

    >>> tv_operator((1, 2, 2)) @ np.array([0.0, 1.0, 1.0, 1.0])
    array([1., 0., 1., 0.])
    """
    c, h, w = (int(v) for v in shape)
    idx = np.arange(c * h * w).reshape(c, h, w)
    pairs = [(idx[:, :, 1:].ravel(), idx[:, :, :-1].ravel()), (idx[:, 1:, :].ravel(), idx[:, :-1, :].ravel())]
    rows = []
    for a, b in pairs:
        D = np.zeros((a.size, c * h * w))
        D[np.arange(a.size), a] = 1.0
        D[np.arange(a.size), b] = -1.0
        rows.append(D)
    return np.vstack(rows)


def regulariser_value(x, regulariser: str, *, reference=None, image_shape=None) -> float:
    """``‖x − reference‖²`` (``"l2"``; reference 0 by default) or ``‖D x‖₁`` (``"tv"``).

    ``image_shape`` (``(c, h, w)``, ``(h, w)``) is needed for ``"tv"`` unless ``x`` has a
    square number of entries.

    >>> regulariser_value([0.0, 1.0, 1.0, 1.0], "tv"), regulariser_value([3.0, 4.0], "l2")
    (2.0, 25.0)
    """
    reg = _check_regulariser(regulariser)
    x = as_vector("x", x)
    if reg == "l2":
        r = np.zeros_like(x) if reference is None else as_vector("reference", reference, length=x.shape[0])
        return float(np.sum((x - r) ** 2))
    shape = _shape_for(x.shape[0], image_shape)
    return float(np.abs(tv_operator(shape) @ x).sum())


def _shape_for(n: int, shape) -> tuple[int, int, int]:
    class _Stub:  # image_shape() reads input_dim and input_shape only
        input_dim = n
        input_shape = (n,)

    return _image_shape(_Stub(), shape)


@dataclass(frozen=True)
class NaturalPreimage:
    """The input that reproduces a layer's activity exactly and minimises a regulariser.

    Attributes
    ----------
    x : the minimiser (input space).
    value : the regulariser at ``x``.
    activity_error : ``max |h_layer(x) − y|`` by a forward pass of the network.
    layer, regulariser, y : what was asked (``y`` the target activity).
    complete : whether the engine enumerated the whole preimage within the budget — then
        ``x`` minimises over all of it; else over the ``pieces_examined`` pieces seen.
    pieces_examined : pieces whose minimum was computed (the local piece included).
    local_value : the minimum over the piece that contains the example itself.
    from_local_piece : whether the minimiser lies on that piece.
    stopped_by : why the enumeration stopped early (``None`` when complete).
    rejected : candidate minimisers discarded because their forward pass missed ``y`` by
        more than the activity tolerances, or whose piece could not be solved.
    """

    x: np.ndarray
    value: float
    activity_error: float
    layer: int
    regulariser: str
    y: np.ndarray
    complete: bool
    pieces_examined: int
    local_value: float
    from_local_piece: bool
    stopped_by: str | None = None
    rejected: int = 0
    seconds: float = 0.0

    def __post_init__(self) -> None:
        _freeze(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer, "regulariser": self.regulariser, "value": self.value,
            "activity_error": self.activity_error, "complete": self.complete,
            "pieces_examined": self.pieces_examined, "local_value": self.local_value,
            "from_local_piece": self.from_local_piece, "stopped_by": self.stopped_by,
            "rejected": self.rejected, "seconds": round(self.seconds, 4), "x": self.x.tolist(),
        }


def _solve_piece(prog: PieceProgram, reg: str, reference: np.ndarray, D: np.ndarray | None) -> np.ndarray:
    if reg == "l2":
        return prog.project(reference)
    assert D is not None
    return prog.minimize_abs(D)


def _activity_error(net: Network, x: np.ndarray, layer: int, y: np.ndarray) -> float:
    return float(np.max(np.abs(net.activations(x, layer=layer) - y), initial=0.0))


def _activity_ok(err: float, y: np.ndarray) -> bool:
    return err <= tolerances.ACTIVITY_ABSOLUTE + tolerances.ACTIVITY_RELATIVE * float(np.max(np.abs(y), initial=0.0))


def _prepare(net, x, layer, regulariser, reference, domain, image_shape):
    net = _check_network(net)
    reg = _check_regulariser(regulariser)
    k = net._check_layer(layer, allow_input=False)
    n = net.input_dim
    try:
        x = np.asarray(x, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"x must be one input of width {n}") from exc
    if x.shape[0] != n:
        raise InvalidInputError(f"x has width {x.shape[0]}, but the model takes inputs of width {n}")
    x = as_vector("x", x, length=n)
    dom = resolve_domain(domain, n)
    ref = np.zeros(n) if reference is None else as_vector("reference", reference, length=n)
    shape = _image_shape(net, image_shape) if reg == "tv" else None
    D = tv_operator(shape) if shape is not None else None
    return net, reg, k, x, dom, ref, D, shape


def natural_preimage(
    net: Network,
    x,
    layer: int,
    regulariser: str = "l2",
    *,
    reference=None,
    domain="unit",
    image_shape=None,
    time_limit: float | None = 10.0,
    max_pieces: int | None = None,
) -> NaturalPreimage:
    """The input with exactly ``x``'s layer-``layer`` activity that minimises ``regulariser``.

    Parameters
    ----------
    net, x, layer : the network, one input, the layer ``1..depth``.
    regulariser : ``"l2"`` (``‖x' − reference‖²``) or ``"tv"`` (anisotropic total variation).
    reference : the reference image of ``"l2"`` (default: 0).
    domain : where inputs may lie: ``"unit"`` (``[0, 1]^n``, default), a Box or a Polyhedron,
        or ``None`` (all of ``R^n``; then only the local piece is used — the engine needs a
        bounded domain).
    image_shape : ``(c, h, w)`` for ``"tv"`` (default: the network's input shape, or a square).
    time_limit, max_pieces : the engine's budget for enumerating the preimage (``0`` pieces:
        the local piece only).

    Returns
    -------
    NaturalPreimage — ``activity_error`` is checked by a forward pass; candidates whose error
    exceeds the activity tolerances are rejected, so it is within them.

    Examples
    --------
    >>> import numpy as np, preimage
    >>> from preimage.analysis import natural_preimage
    >>> net = preimage.Network.from_arrays([(np.array([[1.0, 1.0, 0.0, 0.0]]), np.array([0.0]), True)])
    >>> res = natural_preimage(net, [0.5, 0.5, 0.2, 0.9], layer=1)     # x0 + x1 = 1, nearest 0
    >>> res.x.round(6).tolist(), round(res.value, 6), res.complete, res.activity_error < 1e-9
    ([0.5, 0.5, 0.0, 0.0], 0.5, True, True)
    """
    t0 = time.perf_counter()
    net, reg, k, x, dom, ref, D, shape = _prepare(net, x, layer, regulariser, reference, domain, image_shape)
    require_relu_layers(net, "natural_preimage (it starts from the example's local piece)", k)
    y = net.activations(x, layer=k)
    local = local_preimage(net, x, k, dom)
    best_x = _solve_piece(PieceProgram(local.polyhedron, x), reg, ref, D)
    best_err = _activity_error(net, best_x, k, y)
    rejected = 0
    if not _activity_ok(best_err, y):  # pragma: no cover - the local piece holds x by construction
        log.warning("the local piece's minimiser misses the activity by %.3g; falling back to x itself", best_err)
        best_x, best_err, rejected = x.copy(), 0.0, 1
    local_value = regulariser_value(best_x, reg, reference=ref, image_shape=shape)
    best_val, from_local, examined = local_value, True, 1
    complete, stopped_by = False, None
    if dom is None:
        stopped_by = "unbounded domain: the engine was not run"
    elif max_pieces == 0 or time_limit == 0:
        stopped_by = "budget 0: the local piece only"
    else:
        from ..engine.api import preimage as engine_preimage
        from ..engine.targets import Activity

        # near=x: the search explores x's side of every split first, so under a budget the
        # pieces found are those around the example
        res = engine_preimage(net, Activity(y), layer=k, domain=dom, time_limit=time_limit, max_pieces=max_pieces,
                              near=x)
        complete, stopped_by = res.complete, res.stopped_by
        for piece in res.set:
            if piece.pattern is not None and np.array_equal(piece.pattern, local.pattern):
                continue  # the local piece, already solved
            P: Polyhedron = piece.polyhedron
            try:
                start = P.minimize(np.zeros(P.ambient_dim))
                if start.x is None:
                    continue  # empty within the solver's tolerance
                cand = _solve_piece(PieceProgram(P, start.x), reg, ref, D)
            except (SolverError, AmbiguousGeometryError) as exc:
                log.warning("a piece of the preimage could not be solved (%s)", exc)
                rejected += 1
                continue
            examined += 1
            err = _activity_error(net, cand, k, y)
            if not _activity_ok(err, y):
                log.warning("a piece's minimiser misses the activity by %.3g: rejected", err)
                rejected += 1
                continue
            val = regulariser_value(cand, reg, reference=ref, image_shape=shape)
            if val < best_val:
                best_x, best_err, best_val, from_local = cand, err, val, False
    return NaturalPreimage(best_x, float(best_val), float(best_err), k, reg, y, bool(complete), examined,
                           float(local_value), from_local, stopped_by, rejected, time.perf_counter() - t0)


# -- gradient-based inversion -----------------------------------------------------------------------
#: the activity error (``max |h_layer(x) − y|``) the gradient inversion runs to, by default
GRADIENT_TOLERANCE = tolerances.GRADIENT_ACTIVITY
#: the activity term's weight grows by this factor after each phase that ends above the tolerance
_PENALTY_GROWTH = 10.0
#: within a phase the learning rate decays geometrically to this fraction of ``lr``
_LR_FLOOR = 1e-3
#: the last phase (the activity alone, from the closest iterate so far) starts at this fraction of ``lr``
_LAST_PHASE_LR = 0.05
#: when the phases end above the tolerance: at most this many L-BFGS rounds of this many
#: iterations on the activity alone, each followed by the projection onto the box
_POLISH_ROUNDS = 20
_POLISH_ITERATIONS = 50
#: the activity error is measured every this many steps
_CHECK_EVERY = 25


@dataclass(frozen=True)
class GradientInversion:
    """Gradient-based inversion (Mahendran & Vedaldi): ``x`` minimises
    ``μ ‖h_layer(x) − y‖² / ‖y‖² + weight · R(x)`` by Adam, projected onto the domain box,
    with the penalty ``μ`` raised phase by phase until ``activity_error <= tol``.

    ``reached`` says whether it got there: then ``x`` is the iterate with the least regulariser
    among those measured within ``tol``; else ``x`` is the iterate with the least activity
    error, which is *not* comparable with an exact preimage (``reached=False``).
    """

    x: np.ndarray
    value: float
    activity_error: float
    layer: int
    regulariser: str
    loss: float
    steps: int
    weight: float
    seconds: float = 0.0
    tol: float = GRADIENT_TOLERANCE
    reached: bool = False
    phases: int = 0
    penalty: float = 1.0

    def __post_init__(self) -> None:
        _freeze(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer, "regulariser": self.regulariser, "value": self.value,
            "activity_error": self.activity_error, "tol": self.tol, "reached": self.reached,
            "loss": self.loss, "steps": self.steps, "phases": self.phases, "penalty": self.penalty,
            "weight": self.weight, "seconds": round(self.seconds, 4), "x": self.x.tolist(),
        }


def _torch_activation(activation, n_in: int, torch) -> Callable:
    """A layer's activation on a torch vector (differentiable almost everywhere): a continuous
    piecewise-linear ``φ`` as ``s_0 z + c_0 + Σ_i (s_{i+1} − s_i) relu(z − t_i)``; MaxPool as
    the largest entry of every window."""
    from ..activations import MaxPool, PiecewiseLinear, ReLU

    if activation.is_identity:
        return lambda z: z
    if isinstance(activation, ReLU):
        return torch.relu
    if isinstance(activation, PiecewiseLinear):
        t = [float(v) for v in activation.breakpoints]
        s = [float(v) for v in activation.slopes]
        c0 = float(activation.intercepts[0])

        def elementwise(z):
            h = s[0] * z + c0
            for i, ti in enumerate(t):
                h = h + (s[i + 1] - s[i]) * torch.relu(z - ti)
            return h

        return elementwise
    if isinstance(activation, MaxPool):
        k = max(w.shape[0] for w in activation.windows)
        idx = np.array([np.pad(w, (0, k - w.shape[0]), mode="edge") for w in activation.windows])
        index = torch.as_tensor(idx, dtype=torch.long)  # padding repeats an entry of the window
        return lambda z: z[index].max(dim=1).values
    raise InvalidInputError(f"gradient_inversion cannot evaluate the activation {activation!r} in PyTorch")


def _polish(torch, layer_value, yt, closest, lo, hi, tol: float):
    """L-BFGS on the activity alone from the closest iterate, projected onto the box after each
    round: ``(x within tol or None, closest (error, x), iterations)``."""
    xt = torch.tensor(closest[1], dtype=torch.float64).requires_grad_(True)
    opt = torch.optim.LBFGS([xt], lr=1.0, max_iter=_POLISH_ITERATIONS, line_search_fn="strong_wolfe",
                            tolerance_grad=0.0, tolerance_change=0.0)

    def closure():
        opt.zero_grad(set_to_none=True)
        loss = torch.sum((layer_value(xt) - yt) ** 2)
        loss.backward()
        return loss

    for r in range(_POLISH_ROUNDS):
        opt.step(closure)
        with torch.no_grad():
            xt.copy_(torch.maximum(torch.minimum(xt, hi), lo))
            if not bool(torch.all(torch.isfinite(xt))):
                break
            err = float(torch.max(torch.abs(layer_value(xt) - yt)))
            xs = xt.detach().numpy().copy()
        if err < closest[0]:
            closest = (err, xs)
        if err <= tol:
            return xs, closest, (r + 1) * _POLISH_ITERATIONS
    return None, closest, _POLISH_ROUNDS * _POLISH_ITERATIONS


def _check_gradient_args(steps, weight, lr, tol, max_phases) -> None:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise InvalidInputError(f"steps must be a non-negative integer, got {steps!r}")
    if not np.isfinite(weight) or weight < 0 or not np.isfinite(lr) or lr <= 0:
        raise InvalidInputError(f"weight must be >= 0 and lr > 0 (finite), got weight={weight!r}, lr={lr!r}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not np.isfinite(tol) or tol <= 0:
        raise InvalidInputError(f"tol must be a positive activity error, got {tol!r}")
    if isinstance(max_phases, bool) or not isinstance(max_phases, (int, np.integer)) or max_phases < 1:
        raise InvalidInputError(f"max_phases must be a positive integer, got {max_phases!r}")


def gradient_inversion(
    net: Network,
    x,
    layer: int,
    regulariser: str = "l2",
    *,
    reference=None,
    weight: float = 1e-3,
    steps: int = 2000,
    lr: float = 0.02,
    seed: int = 0,
    domain="unit",
    image_shape=None,
    tol: float = GRADIENT_TOLERANCE,
    max_phases: int = 8,
) -> GradientInversion:
    """Invert ``x``'s layer-``layer`` activity by gradient descent (PyTorch, float64) until the
    activity error ``max |h(x') − y|`` is at most ``tol``, or say that it could not.

    Minimises ``μ ‖h(x') − y‖² / max(‖y‖², 1) + weight · R(x')`` with Adam from uniform noise
    in the domain (seeded), clamping ``x'`` to the domain box after every step — the method
    of Mahendran & Vedaldi with the same regulariser ``R`` as :func:`natural_preimage`
    (``"tv"`` uses its subgradient). It runs in phases of ``steps`` steps, each with the
    learning rate decaying geometrically from ``lr`` to ``lr · 10⁻³``; a phase that ends
    above ``tol`` is followed by one with ``μ`` ten times larger (a penalty continuation:
    the penalty's minimiser misses the activity by about ``weight / μ``), at most
    ``max_phases`` phases; the last of them (when there are several) restarts from the iterate
    with the least activity error so far, at ``lr / 20``, without the regulariser: the activity
    alone. If no iterate is within ``tol`` by then, L-BFGS on the activity alone polishes the
    closest one (at most 20 rounds of 50 iterations, each followed by the projection onto the
    box). The activity error is measured every 25 steps and at the end of each phase.

    Returns
    -------
    GradientInversion — ``reached=True``: ``x`` is the measured iterate within ``tol`` with
    the least regulariser; ``reached=False``: none was within ``tol`` and ``x`` is the iterate
    with the least activity error (its regulariser value is not comparable with an exact one).

    Examples
    --------
    >>> import numpy as np, preimage
    >>> from preimage.analysis import gradient_inversion
    >>> net = preimage.Network.from_arrays([(np.array([[1.0, 1.0, 0.0, 0.0]]), np.array([0.0]), True)])
    >>> g = gradient_inversion(net, [0.5, 0.5, 0.2, 0.9], 1, steps=300)       # x0 + x1 = 1
    >>> g.reached, g.activity_error <= 1e-3, abs(float(net.forward(g.x)[0]) - 1.0) <= 1e-3
    (True, True, True)
    >>> gradient_inversion(net, [0.5, 0.5, 0.2, 0.9], 1, steps=1, max_phases=1).reached
    False
    """
    t0 = time.perf_counter()
    net, reg, k, x, dom, ref, D, shape = _prepare(net, x, layer, regulariser, reference, domain, image_shape)
    if dom is not None and not isinstance(dom, Box):
        raise InvalidInputError("gradient_inversion clamps to a box: give domain='unit', a Box, or None")
    _check_gradient_args(steps, weight, lr, tol, max_phases)
    from .._optional import require

    torch = require("torch", "gradient_inversion")
    y = net.activations(x, layer=k)
    dt = torch.float64
    Ws = [torch.tensor(np.array(lay.dense_weight), dtype=dt) for lay in net.layers[:k]]
    bs = [torch.tensor(np.array(lay.bias), dtype=dt) for lay in net.layers[:k]]
    acts = [_torch_activation(lay.activation, lay.pre_dim, torch) for lay in net.layers[:k]]
    yt = torch.tensor(np.array(y), dtype=dt)
    scale = max(float(np.sum(y ** 2)), 1.0)
    reft = torch.tensor(np.array(ref), dtype=dt)
    Dt = torch.tensor(D, dtype=dt) if D is not None else None
    lo = torch.tensor(np.array(dom.lo) if dom is not None else np.full(net.input_dim, -np.inf), dtype=dt)
    hi = torch.tensor(np.array(dom.hi) if dom is not None else np.full(net.input_dim, np.inf), dtype=dt)
    gen = torch.Generator().manual_seed(int(seed))
    start = torch.rand(net.input_dim, generator=gen, dtype=dt)
    if dom is not None:
        start = lo + start * (hi - lo)
    xt = start.clone().requires_grad_(True)

    def layer_value(v):
        h = v
        for W, b, act in zip(Ws, bs, acts):
            h = act(W @ h + b)
        return h

    def reg_value(v):
        if Dt is None:
            return torch.sum((v - reft) ** 2)
        return torch.sum(torch.abs(Dt @ v))

    mu, done, phases = 1.0, 0, 0
    feasible: tuple[float, np.ndarray] | None = None  # (regulariser, x) of the best iterate within tol
    closest: tuple[float, np.ndarray] = (np.inf, xt.detach().numpy().copy())  # (error, x)
    decay = _LR_FLOOR ** (1.0 / max(int(steps), 1))
    while phases < int(max_phases) and feasible is None:
        phases += 1
        last = phases == int(max_phases) > 1  # the last phase: the activity only, from the closest iterate
        if last:
            with torch.no_grad():
                xt.copy_(torch.tensor(closest[1], dtype=dt))
        opt = torch.optim.Adam([xt], lr=float(lr) * (_LAST_PHASE_LR if last else 1.0))
        w = 0.0 if last else float(weight)
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=decay)
        for step in range(int(steps)):
            opt.zero_grad(set_to_none=True)
            loss = mu * torch.sum((layer_value(xt) - yt) ** 2) / scale + w * reg_value(xt)
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                xt.copy_(torch.maximum(torch.minimum(xt, hi), lo))
            done += 1
            if (step + 1) % _CHECK_EVERY and step + 1 != int(steps):
                continue
            with torch.no_grad():
                err = float(torch.max(torch.abs(layer_value(xt) - yt)))
                xs = xt.detach().numpy().copy()
            if err <= float(tol):
                value = float(reg_value(torch.tensor(xs, dtype=dt)))
                if feasible is None or value < feasible[0]:
                    feasible = (value, xs)
            if err < closest[0]:
                closest = (err, xs)
        if feasible is None:
            mu *= _PENALTY_GROWTH
    if feasible is None and int(steps) > 0 and int(max_phases) > 1:
        found, closest, extra = _polish(torch, layer_value, yt, closest, lo, hi, float(tol))
        done += extra
        if found is not None:
            feasible = (float(reg_value(torch.tensor(found, dtype=dt))), found)
    if int(steps) == 0:
        with torch.no_grad():
            closest = (float(torch.max(torch.abs(layer_value(xt) - yt))), xt.detach().numpy().copy())
    xs = feasible[1] if feasible is not None else closest[1]
    with torch.no_grad():
        v = torch.tensor(xs, dtype=dt)
        final = float(mu * torch.sum((layer_value(v) - yt) ** 2) / scale + float(weight) * reg_value(v))
    err_np = _activity_error(net, xs, k, y)
    return GradientInversion(xs, regulariser_value(xs, reg, reference=ref, image_shape=shape), err_np, k, reg, final,
                             done, float(weight), time.perf_counter() - t0, float(tol),
                             bool(feasible is not None and err_np <= float(tol)), phases, mu)


# -- comparison -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InversionComparison:
    """Exact-constrained natural preimages and gradient-based inversions of one input, per layer."""

    x: np.ndarray
    regulariser: str
    reference: np.ndarray
    exact: tuple[NaturalPreimage, ...]
    gradient: tuple[GradientInversion, ...]
    image_shape: tuple[int, int, int]
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        _freeze(self)

    @property
    def layers(self) -> tuple[int, ...]:
        return tuple(e.layer for e in self.exact)

    def table(self) -> list[dict[str, Any]]:
        """One row per layer: activity error and regulariser value of both methods;
        ``comparable`` is ``False`` where the gradient method did not reach its tolerance."""
        rows = []
        for e, g in zip(self.exact, self.gradient):
            rows.append({
                "layer": e.layer,
                "exact_activity_error": e.activity_error, "exact_value": e.value,
                "exact_complete": e.complete, "exact_pieces": e.pieces_examined,
                "exact_seconds": round(e.seconds, 3),
                "gradient_activity_error": g.activity_error, "gradient_value": g.value,
                "gradient_reached": g.reached, "gradient_tol": g.tol, "gradient_steps": g.steps,
                "gradient_phases": g.phases, "gradient_seconds": round(g.seconds, 3),
                # apples to apples only when the gradient method reproduced the activity within tol
                "comparable": bool(g.reached),
                "original_value": regulariser_value(self.x, self.regulariser, reference=self.reference,
                                                    image_shape=self.image_shape),
            })
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {"regulariser": self.regulariser, "table": self.table(), "info": self.info,
                "exact": [e.to_dict() for e in self.exact], "gradient": [g.to_dict() for g in self.gradient]}


def compare_inversions(
    net: Network,
    x,
    layers: Sequence[int] | None = None,
    regulariser: str = "l2",
    *,
    reference=None,
    domain="unit",
    image_shape=None,
    time_limit: float | None = 10.0,
    max_pieces: int | None = None,
    weight: float = 1e-3,
    steps: int = 2000,
    lr: float = 0.02,
    seed: int = 0,
    tol: float = GRADIENT_TOLERANCE,
    max_phases: int = 8,
    progress: Callable[[str, int, int], None] | None = None,
) -> InversionComparison:
    """:func:`natural_preimage` and :func:`gradient_inversion` of ``x`` at each layer (default:
    every layer), with the same regulariser, reference and domain; the gradient method runs
    until its activity error is at most ``tol`` (``max_phases`` phases of ``steps`` steps) and
    each row of :meth:`InversionComparison.table` says whether it got there (``comparable``).

    ``progress`` is called as ``progress(stage, done, total)`` before each of the ``2 ×
    len(layers)`` steps (``stage`` e.g. ``"layer 2: exact"``) and once at the end.
    """
    net = _check_network(net)
    ks = list(range(1, net.depth + 1)) if layers is None else [net._check_layer(k, allow_input=False) for k in layers]
    _check_regulariser(regulariser)
    exact, grad = [], []
    total = 2 * len(ks)
    for i, k in enumerate(ks):
        if progress is not None:
            progress(f"layer {k}: exact", 2 * i, total)
        exact.append(natural_preimage(net, x, k, regulariser, reference=reference, domain=domain,
                                      image_shape=image_shape, time_limit=time_limit, max_pieces=max_pieces))
        if progress is not None:
            progress(f"layer {k}: gradient", 2 * i + 1, total)
        grad.append(gradient_inversion(net, x, k, regulariser, reference=reference, weight=weight, steps=steps,
                                       lr=lr, seed=seed, domain=domain, image_shape=image_shape, tol=tol,
                                       max_phases=max_phases))
    if progress is not None:
        progress("done", total, total)
    n = net.input_dim
    ref = np.zeros(n) if reference is None else as_vector("reference", reference, length=n)
    try:
        shape = _image_shape(net, image_shape)
    except InvalidInputError:
        if regulariser.lower() == "tv":
            raise
        shape = (1, 1, n)  # not an image: pictures show a strip
    return InversionComparison(np.asarray(x, dtype=np.float64).reshape(-1), regulariser.lower(), ref,
                               tuple(exact), tuple(grad), shape,
                               {"weight": weight, "steps": steps, "lr": lr, "seed": seed, "tol": tol,
                                "max_phases": max_phases,
                                "time_limit": time_limit, "max_pieces": max_pieces})


def plot_inversions(comparison: InversionComparison, out=None, axes=None) -> list:
    """The picture grid: one row per layer — original, exact-constrained, gradient-based.

    ``axes`` is a ``(n_layers, 3)`` array of matplotlib axes (a new figure when ``None``);
    with ``out`` the figure is saved there. Returns the image artists. Multi-channel inputs
    show their first channel.
    """
    L = len(comparison.exact)
    fig = None
    if axes is None:
        fig, axes = _figure(L, 3, (6.6, 2.3 * L))
    axes = np.asarray(axes).reshape(L, 3)
    c, h, w = comparison.image_shape
    lo, hi = float(min(0.0, comparison.x.min())), float(max(1.0, comparison.x.max()))
    artists = []
    for r, (e, g) in enumerate(zip(comparison.exact, comparison.gradient)):
        cells = [
            (comparison.x, f"original (layer {e.layer})"),
            (e.x, f"exact: err {e.activity_error:.1e}\n{e.regulariser} {e.value:.3g}"
                  + ("" if e.complete else " (partial)")),
            (g.x, f"gradient: err {g.activity_error:.1e}\n{g.regulariser} {g.value:.3g}"
                  + ("" if g.reached else f" (tol {g.tol:.0e} NOT reached)")),
        ]
        for col, (img, title) in enumerate(cells):
            ax = axes[r, col]
            artists.append(ax.imshow(np.asarray(img).reshape(c, h, w)[0], cmap="gray_r", vmin=lo, vmax=hi,
                                     interpolation="nearest"))
            ax.set_title(title, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    if fig is None:
        fig = axes[0, 0].figure
    if out is not None:
        fig.savefig(out, dpi=120)
    return artists
