"""The one module that talks to the LP/QP solver (HiGHS through ``highspy``).

Everything else in :mod:`preimage` asks questions through this module:

* :class:`LinearProgram` — a HiGHS model over ``{x : A x <= b, C x = d, lo <= x <= hi}``
  that is kept alive between questions, so that successive solves (a new objective,
  changed right-hand sides, added or deleted rows) warm-start from the last basis;
* :func:`is_feasible`, :func:`optimize`, :func:`chebyshev_center` — one-shot helpers;
* :func:`minimize_quadratic` — convex QPs ``min ½ xᵀQx + cᵀx`` (projection, distances);
* :func:`solve_milp` — mixed-integer LPs (exact distances through a network's MILP encoding),
  with HiGHS's proven dual bound and a time limit.

Statuses other than optimal / infeasible / unbounded raise :class:`SolverError` naming the
HiGHS status; nothing here returns a guess.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Literal

import numpy as np

from .. import tolerances
from ..errors import InvalidInputError, SolverError

if TYPE_CHECKING:  # pragma: no cover - annotations only; highspy itself is imported lazily
    import highspy
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "LPResult",
    "LinearProgram",
    "is_feasible",
    "optimize",
    "chebyshev_center",
    "minimize_quadratic",
    "MILPResult",
    "SparseRows",
    "solve_milp",
    "solve_count",
]

Status = Literal["optimal", "infeasible", "unbounded"]

_solve_total = 0


def solve_count() -> int:
    """Number of LP/QP solves this process has run (a statistic for reports)."""
    return _solve_total


def _bump() -> None:
    global _solve_total
    _solve_total += 1


def _highspy() -> ModuleType:  # imported lazily: keeps ``import preimage`` fast
    import highspy

    return highspy


# HiGHS >= 1.16 prints its banner ("Running HiGHS ... Copyright ...") from C++ to the
# process's stdout when the first ``Highs`` object of the process is constructed, before any
# option (``output_flag``, ``log_to_console``) can be set. stdout belongs to the user
# (``--json``), so that first construction runs with file descriptors 1 and 2 pointed at
# /dev/null; the banner is printed once per process, later constructions print nothing.
_banner_lock = threading.Lock()
_banner_done = False


@contextlib.contextmanager
def _fds_silenced() -> Iterator[None]:
    """Point the OS-level stdout and stderr at /dev/null (C/C++ writes included)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    saved: list[tuple[int, int]] = []
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:  # pragma: no cover - no /dev/null: construct unsilenced
        yield
        return
    try:
        for fd in (1, 2):
            try:
                saved.append((fd, os.dup(fd)))
                os.dup2(devnull, fd)
            except OSError:  # that descriptor is closed: nothing to silence
                pass
        yield
    finally:
        _c_fflush()
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


def _c_fflush() -> None:
    """Flush C stdio buffers, so nothing buffered inside HiGHS leaks out after the redirect."""
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):  # pragma: no cover - no libc symbol table
        pass


def _construct_highs(hs: ModuleType) -> highspy.Highs:
    """``hs.Highs()``, the process's first one with its console banner silenced."""
    global _banner_done
    h: highspy.Highs  # ``hs`` is the highspy module (typed as a plain module)
    if _banner_done:
        h = hs.Highs()
        return h
    with _banner_lock:
        if not _banner_done:
            with _fds_silenced():
                h = hs.Highs()
                h.setOptionValue("output_flag", False)
            _banner_done = True
            return h
    h = hs.Highs()
    return h


@dataclass(frozen=True, slots=True)
class LPResult:
    """Outcome of one solve.

    ``x`` is the optimal point (``None`` unless ``status == "optimal"``); ``value`` the
    optimal objective (``nan`` when infeasible, ``±inf`` when unbounded).
    """

    status: Status
    x: NDArray[np.float64] | None
    value: float

    @property
    def feasible(self) -> bool:
        return self.status != "infeasible"


def _new_highs(time_limit: float | None = None) -> highspy.Highs:
    hs = _highspy()
    h = _construct_highs(hs)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("presolve", "off")
    h.setOptionValue("primal_feasibility_tolerance", tolerances.SOLVER_FEASIBILITY)
    h.setOptionValue("dual_feasibility_tolerance", tolerances.SOLVER_OPTIMALITY)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    return h


def _check_system(
    A: ArrayLike, b: ArrayLike, C: ArrayLike | None, d: ArrayLike | None, n: int | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], int]:
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2:
        raise InvalidInputError(f"A must be a 2-D matrix, got shape {A.shape}")
    n = A.shape[1] if n is None else n
    if A.shape[1] != n:
        raise InvalidInputError(f"A must have {n} columns, got shape {A.shape}")
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if b.shape[0] != A.shape[0]:
        raise InvalidInputError(f"b must have length {A.shape[0]} (rows of A), got {b.shape[0]}")
    if C is None:
        C = np.zeros((0, n))
        d = np.zeros(0)
    C = np.asarray(C, dtype=np.float64).reshape(-1, n)
    d = np.asarray(d, dtype=np.float64).reshape(-1)
    if d.shape[0] != C.shape[0]:
        raise InvalidInputError(f"d must have length {C.shape[0]} (rows of C), got {d.shape[0]}")
    return A, b, C, d, n


class LinearProgram:
    """A warm-startable HiGHS model over ``{x : A x <= b, C x = d, lower <= x <= upper}``.

    The model is built once; :meth:`minimize`, :meth:`maximize` and :meth:`is_feasible`
    change only the objective, and :meth:`set_upper`, :meth:`add_rows` and
    :meth:`delete_rows` change the constraints, so HiGHS restarts from its last basis.

    Parameters
    ----------
    A, b : inequality rows ``A x <= b`` (``m × n`` and ``m``).
    C, d : equality rows ``C x = d`` (optional).
    lower, upper : bounds on ``x`` (optional; ``±inf`` means free).
    time_limit : seconds per solve (optional).

    Examples
    --------
    >>> lp = LinearProgram([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], [1.0, 1.0, 0.0])
    >>> lp.maximize([1.0, 1.0]).value
    2.0
    >>> lp.minimize([1.0, 0.0]).value
    -1.0
    """

    __slots__ = ("_h", "_n", "_m", "_k", "solves", "_cost_idx")

    def __init__(
        self,
        A: ArrayLike,
        b: ArrayLike,
        C: ArrayLike | None = None,
        d: ArrayLike | None = None,
        lower: ArrayLike | None = None,
        upper: ArrayLike | None = None,
        *,
        n: int | None = None,
        time_limit: float | None = None,
    ) -> None:
        A, b, C, d, n = _check_system(A, b, C, d, n)
        hs = _highspy()
        inf: float = hs.kHighsInf
        lo = np.full(n, -inf) if lower is None else np.asarray(lower, dtype=np.float64).copy()
        hi = np.full(n, inf) if upper is None else np.asarray(upper, dtype=np.float64).copy()
        lo[~np.isfinite(lo)] = -inf
        hi[~np.isfinite(hi)] = inf
        rows = np.vstack([A, C]) if C.shape[0] else A
        m, k = A.shape[0], C.shape[0]
        lp: highspy.HighsLp = hs.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = m + k
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_ = lo
        lp.col_upper_ = hi
        lp.row_lower_ = np.concatenate([np.full(m, -inf), d])
        lp.row_upper_ = np.concatenate([b, d])
        nz_r, nz_c = np.nonzero(rows)
        lp.a_matrix_.format_ = hs.MatrixFormat.kRowwise
        lp.a_matrix_.num_col_ = n
        lp.a_matrix_.num_row_ = m + k
        counts = np.bincount(nz_r, minlength=m + k)
        lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        lp.a_matrix_.index_ = nz_c.astype(np.int32)
        lp.a_matrix_.value_ = rows[nz_r, nz_c]
        self._h = _new_highs(time_limit)
        status = self._h.passModel(lp)
        if status == hs.HighsStatus.kError:
            raise SolverError(f"HiGHS refused the model ({m} inequalities, {k} equalities, {n} variables)")
        self._n, self._m, self._k = n, m, k
        self.solves = 0
        self._cost_idx = np.arange(n, dtype=np.int32)

    # -- shape ------------------------------------------------------------------------------
    @property
    def n_vars(self) -> int:
        return self._n

    @property
    def n_rows(self) -> int:
        """Number of rows (inequalities, equalities and added rows) in the model."""
        return int(self._h.getNumRow())

    # -- modification ------------------------------------------------------------------------
    def set_bounds(self, rows: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> None:
        """Change the bounds ``lower <= row·x <= upper`` of existing rows."""
        hs = _highspy()
        rows = np.asarray(rows, dtype=np.int32).reshape(-1)
        lower = np.broadcast_to(np.asarray(lower, dtype=np.float64), rows.shape).copy()
        upper = np.broadcast_to(np.asarray(upper, dtype=np.float64), rows.shape).copy()
        lower[np.isneginf(lower)] = -hs.kHighsInf
        upper[np.isposinf(upper)] = hs.kHighsInf
        # highspy 1.15's stubs omit Highs.changeRowsBounds (the binding has it)
        self._h.changeRowsBounds(len(rows), rows, lower, upper)  # type: ignore[attr-defined]

    def set_upper(self, rows: ArrayLike, upper: ArrayLike) -> None:
        """Change the right-hand side ``b`` of existing inequality rows."""
        self.set_bounds(rows, -np.inf, upper)

    def set_column_bounds(self, lower: ArrayLike, upper: ArrayLike) -> None:
        """Change the bounds on every variable."""
        hs = _highspy()
        lo = np.asarray(lower, dtype=np.float64).copy()
        hi = np.asarray(upper, dtype=np.float64).copy()
        lo[np.isneginf(lo)] = -hs.kHighsInf
        hi[np.isposinf(hi)] = hs.kHighsInf
        self._h.changeColsBounds(self._n, self._cost_idx, lo, hi)

    def add_rows(self, A: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> NDArray[np.int_]:
        """Append rows ``lower <= A x <= upper``; return their indices."""
        hs = _highspy()
        A = np.asarray(A, dtype=np.float64).reshape(-1, self._n)
        r = A.shape[0]
        lower = np.broadcast_to(np.asarray(lower, dtype=np.float64), (r,)).copy()
        upper = np.broadcast_to(np.asarray(upper, dtype=np.float64), (r,)).copy()
        lower[np.isneginf(lower)] = -hs.kHighsInf
        upper[np.isposinf(upper)] = hs.kHighsInf
        nz_r, nz_c = np.nonzero(A)
        counts = np.bincount(nz_r, minlength=r)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int32)
        first = self.n_rows
        self._h.addRows(r, lower, upper, len(nz_r), starts, nz_c.astype(np.int32), A[nz_r, nz_c])
        return np.arange(first, first + r)

    def delete_rows(self, rows: ArrayLike) -> None:
        """Delete rows by index (later rows shift down)."""
        rows = np.asarray(rows, dtype=np.int32).reshape(-1)
        if rows.size:
            self._h.deleteRows(len(rows), rows)

    # -- questions ---------------------------------------------------------------------------
    def _run(self) -> Status:
        hs = _highspy()
        self.solves += 1
        _bump()
        self._h.run()
        st = self._h.getModelStatus()
        M = hs.HighsModelStatus
        if st == M.kOptimal or st == M.kModelEmpty:
            return "optimal"
        if st == M.kInfeasible:
            return "infeasible"
        if st == M.kUnbounded:
            return "unbounded"
        if st == M.kUnboundedOrInfeasible:
            # decide with a zero objective: infeasible or not
            cost = self._h.getLp().col_cost_
            self._set_cost(np.zeros(self._n))
            self._h.run()
            st2 = self._h.getModelStatus()
            self._set_cost(np.asarray(cost))
            if st2 == M.kInfeasible:
                return "infeasible"
            if st2 == M.kOptimal:
                return "unbounded"
            st = st2
        if st == M.kTimeLimit:
            raise SolverError("HiGHS stopped at its time limit before deciding the LP")
        if st in (M.kUnknown, M.kSolveError, M.kNotset):
            # HiGHS occasionally gives up on an easy LP without presolve: try once with it
            self._h.setOptionValue("presolve", "on")
            self._h.clearSolver()
            self._h.run()
            st2 = self._h.getModelStatus()
            self._h.setOptionValue("presolve", "off")
            if st2 == M.kOptimal:
                return "optimal"
            if st2 == M.kInfeasible:
                return "infeasible"
            if st2 == M.kUnbounded:
                return "unbounded"
            st = st2
        raise SolverError(f"HiGHS ended with status {self._h.modelStatusToString(st)!r}")

    def _set_cost(self, c: NDArray[np.float64]) -> None:
        self._h.changeColsCost(self._n, self._cost_idx, np.ascontiguousarray(c, dtype=np.float64))

    def minimize(self, c: ArrayLike) -> LPResult:
        """Minimise ``c·x``; returns an :class:`LPResult`."""
        c = np.asarray(c, dtype=np.float64).reshape(-1)
        if c.shape[0] != self._n:
            raise InvalidInputError(f"objective must have length {self._n}, got {c.shape[0]}")
        self._set_cost(c)
        status = self._run()
        if status == "optimal":
            x = np.array(self._h.getSolution().col_value, dtype=np.float64)
            return LPResult("optimal", x, float(c @ x))
        return LPResult(status, None, -np.inf if status == "unbounded" else np.nan)

    def maximize(self, c: ArrayLike) -> LPResult:
        """Maximise ``c·x``; returns an :class:`LPResult` (``value`` is the maximum)."""
        res = self.minimize(-np.asarray(c, dtype=np.float64))
        return LPResult(res.status, res.x, -res.value if res.status != "infeasible" else np.nan)

    def is_feasible(self) -> bool:
        """Whether the constraints admit a point (within the solver tolerance)."""
        self._set_cost(np.zeros(self._n))
        return self._run() != "infeasible"

    def feasible_point(self) -> NDArray[np.float64] | None:
        """A point satisfying the constraints, or ``None`` when there is none."""
        res = self.minimize(np.zeros(self._n))
        return res.x

    def row_values(self) -> NDArray[np.float64]:
        """Row activities ``A x`` at the last solution."""
        return np.array(self._h.getSolution().row_value, dtype=np.float64)


def is_feasible(
    A: ArrayLike,
    b: ArrayLike,
    C: ArrayLike | None = None,
    d: ArrayLike | None = None,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
) -> bool:
    """Whether ``{x : A x <= b, C x = d, lower <= x <= upper}`` is non-empty.

    >>> is_feasible([[1.0], [-1.0]], [1.0, -2.0])
    False
    """
    return LinearProgram(A, b, C, d, lower, upper).is_feasible()


def optimize(
    c: ArrayLike,
    A: ArrayLike,
    b: ArrayLike,
    C: ArrayLike | None = None,
    d: ArrayLike | None = None,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
    *,
    sense: str = "min",
) -> LPResult:
    """Minimise (``sense="min"``) or maximise (``"max"``) ``c·x`` over the polyhedron."""
    lp = LinearProgram(A, b, C, d, lower, upper)
    if sense == "min":
        return lp.minimize(c)
    if sense == "max":
        return lp.maximize(c)
    raise InvalidInputError(f"sense must be 'min' or 'max', got {sense!r}")


def chebyshev_center(
    A: ArrayLike,
    b: ArrayLike,
    C: ArrayLike | None = None,
    d: ArrayLike | None = None,
    *,
    max_radius: float | None = None,
) -> tuple[NDArray[np.float64] | None, float]:
    """Centre and radius of the largest ball inside ``{A x <= b, C x = d}``.

    The ball lives in the affine space ``C x = d``; its radius is measured with the row
    norms of ``A`` projected onto that space. Returns ``(None, -inf)`` when the set is empty
    and ``(x, inf)`` when the set contains balls of any radius (``x`` is then the centre of
    a ball of radius ``max_radius`` or 1).

    >>> x, r = chebyshev_center([[1.0, 0], [-1, 0], [0, 1], [0, -1]], [1.0, 1, 1, 1])
    >>> round(r, 9), (x.round(9) + 0.0).tolist()
    (1.0, [0.0, 0.0])
    """
    A, b, C, d, n = _check_system(A, b, C, d, None)
    if C.shape[0]:
        # norms of the rows of A restricted to the null space of C
        _, s, vt = np.linalg.svd(C, full_matrices=True)
        rank = int(np.sum(s > tolerances.RANK_RELATIVE * max(s.max(initial=0.0), 1.0)))
        N = vt[rank:].T
        norms = np.linalg.norm(A @ N, axis=1) if N.size else np.zeros(A.shape[0])
    else:
        norms = np.linalg.norm(A, axis=1)
    Ar = np.hstack([A, norms[:, None]])
    Cr = np.hstack([C, np.zeros((C.shape[0], 1))])
    lower = np.concatenate([np.full(n, -np.inf), [-np.inf]])
    upper = np.concatenate([np.full(n, np.inf), [np.inf if max_radius is None else max_radius]])
    lp = LinearProgram(Ar, b, Cr, d, lower, upper)
    cost = np.zeros(n + 1)
    cost[-1] = 1.0
    res = lp.maximize(cost)
    if res.status == "infeasible":
        return None, -np.inf
    if res.status == "unbounded":
        lp.set_column_bounds(lower, np.concatenate([upper[:-1], [1.0]]))
        res = lp.maximize(cost)
        return (res.x[:-1] if res.x is not None else None), np.inf
    assert res.x is not None
    return res.x[:-1], float(res.x[-1])


def minimize_quadratic(
    Q: ArrayLike,
    c: ArrayLike,
    A: ArrayLike | None = None,
    b: ArrayLike | None = None,
    C: ArrayLike | None = None,
    d: ArrayLike | None = None,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
) -> LPResult:
    """Solve the convex QP ``min ½ xᵀ Q x + cᵀ x`` s.t. ``A x <= b, C x = d, lower <= x <= upper``.

    ``Q`` must be symmetric positive semi-definite (checked).

    >>> res = minimize_quadratic(2 * np.eye(2), [-2.0, -4.0], [[1.0, 1.0]], [1.0])
    >>> (res.x.round(6) + 0.0).tolist()   # projection of (1, 2) onto x + y <= 1
    [0.0, 1.0]
    """
    Q = np.asarray(Q, dtype=np.float64)
    n = Q.shape[0]
    if Q.ndim != 2 or Q.shape != (n, n):
        raise InvalidInputError(f"Q must be a square matrix, got shape {Q.shape}")
    if not np.allclose(Q, Q.T, atol=tolerances.FEASIBILITY, rtol=0.0):
        raise InvalidInputError("Q must be symmetric")
    eig = np.linalg.eigvalsh(Q) if n else np.zeros(0)
    if eig.size and eig.min() < -tolerances.RANK_RELATIVE * max(1.0, abs(eig).max()):
        raise InvalidInputError(f"Q must be positive semi-definite; its smallest eigenvalue is {eig.min():.3g}")
    c = np.asarray(c, dtype=np.float64).reshape(-1)
    if A is None:
        A, b = np.zeros((0, n)), np.zeros(0)
    b = np.asarray(b, dtype=np.float64)  # as LinearProgram converts it (an array from here on)
    definite = bool(eig.size and eig.min() > tolerances.RANK_RELATIVE * max(1.0, abs(eig).max()))
    try:
        res = _qp_once(Q, c, A, b, C, d, lower, upper, n, tolerances.SOLVER_FEASIBILITY)
    except SolverError:
        res = None
    if res is not None and (res.status == "optimal" or (res.status == "unbounded" and not definite)):
        if res.status == "unbounded" or _qp_feasible(res.x, A, b, C, d, lower, upper, tolerances.CONTAINS):
            return res
    if res is not None and res.status == "infeasible" and not is_feasible(A, b, C, d, lower, upper):
        return res
    # HiGHS's QP solver sometimes stops just outside its feasibility tolerance ("Solve error")
    # or misreports a convex QP over a non-empty set: solve again with a looser tolerance and
    # accept the answer only if it satisfies the constraints within CONTAINS
    res = _qp_once(Q, c, A, b, C, d, lower, upper, n, tolerances.CONTAINS / 10, presolve=True)
    if res.status == "optimal" and _qp_feasible(res.x, A, b, C, d, lower, upper, tolerances.CONTAINS):
        return res
    raise SolverError(f"HiGHS could not solve the QP reliably (status {res.status!r} after a retry)")


def _qp_once(
    Q: NDArray[np.float64],
    c: NDArray[np.float64],
    A: ArrayLike,
    b: ArrayLike,
    C: ArrayLike | None,
    d: ArrayLike | None,
    lower: ArrayLike | None,
    upper: ArrayLike | None,
    n: int,
    feas_tol: float,
    presolve: bool = False,
) -> LPResult:
    hs = _highspy()
    lp = LinearProgram(A, b, C, d, lower, upper, n=n)
    lp._h.setOptionValue("primal_feasibility_tolerance", float(feas_tol))
    if presolve:
        lp._h.setOptionValue("presolve", "on")
    lp._set_cost(c)
    low = np.tril(Q)
    # HiGHS wants the lower triangle column-wise
    cols, rows = np.nonzero(low.T)
    counts = np.bincount(cols, minlength=n)
    start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    hess: highspy.HighsHessian = hs.HighsHessian()
    hess.dim_ = n
    hess.format_ = hs.HessianFormat.kTriangular
    hess.start_ = start
    hess.index_ = rows.astype(np.int32)
    hess.value_ = low.T[cols, rows]
    lp._h.passHessian(hess)
    status = lp._run()
    if status != "optimal":
        return LPResult(status, None, -np.inf if status == "unbounded" else np.nan)
    x = np.array(lp._h.getSolution().col_value, dtype=np.float64)
    return LPResult("optimal", x, float(0.5 * x @ Q @ x + c @ x))


def _qp_feasible(
    x: NDArray[np.float64] | None,
    A: ArrayLike,
    b: ArrayLike,
    C: ArrayLike | None,
    d: ArrayLike | None,
    lower: ArrayLike | None,
    upper: ArrayLike | None,
    tol: float,
) -> bool:
    """Whether ``x`` satisfies the constraints within ``tol`` (scaled by the row norms)."""
    if x is None or not np.all(np.isfinite(x)):
        return False
    A = np.asarray(A, dtype=np.float64).reshape(-1, x.shape[0])
    ok = True
    if A.shape[0]:
        norms = np.maximum(np.linalg.norm(A, axis=1), 1.0)
        ok &= bool(np.all(A @ x - np.asarray(b, dtype=np.float64) <= tol * norms))
    if C is not None and np.size(C):
        C = np.asarray(C, dtype=np.float64).reshape(-1, x.shape[0])
        norms = np.maximum(np.linalg.norm(C, axis=1), 1.0)
        ok &= bool(np.all(np.abs(C @ x - np.asarray(d, dtype=np.float64)) <= tol * norms))
    if lower is not None:
        ok &= bool(np.all(x >= np.asarray(lower, dtype=np.float64) - tol))
    if upper is not None:
        ok &= bool(np.all(x <= np.asarray(upper, dtype=np.float64) + tol))
    return ok


@dataclass(frozen=True, slots=True)
class MILPResult:
    """Outcome of one :func:`solve_milp`.

    ``status`` is ``"optimal"`` (the optimum is proven within the gap tolerances
    ``MILP_GAP_ABSOLUTE`` / ``MILP_GAP_RELATIVE``), ``"infeasible"`` (proven), or
    ``"time_limit"`` (stopped: ``x`` is the best point found, if any). ``value`` is the
    objective at ``x`` (``inf`` without one); ``bound`` HiGHS's proven lower bound on the
    optimum (``inf`` when infeasible); ``nodes`` the branch-and-bound nodes.
    """

    status: Literal["optimal", "infeasible", "time_limit"]
    x: NDArray[np.float64] | None
    value: float
    bound: float
    nodes: int


@dataclass(frozen=True, slots=True)
class SparseRows:
    """A matrix as compressed rows (CSR): row ``r``'s entries are ``value[start[r]:start[r+1]]``
    in the columns ``index[start[r]:start[r+1]]``."""

    start: NDArray[np.int32]
    index: NDArray[np.int32]
    value: NDArray[np.float64]
    shape: tuple[int, int]

    @classmethod
    def from_triplets(cls, rows: ArrayLike, cols: ArrayLike, vals: ArrayLike, shape: tuple[int, int]) -> SparseRows:
        """From ``(row, column, value)`` entries (repeated entries are summed)."""
        r = np.asarray(rows, dtype=np.int64).reshape(-1)
        c = np.asarray(cols, dtype=np.int64).reshape(-1)
        v = np.asarray(vals, dtype=np.float64).reshape(-1)
        order = np.lexsort((c, r))
        r, c, v = r[order], c[order], v[order]
        if r.size:
            new = np.concatenate([[True], (np.diff(r) != 0) | (np.diff(c) != 0)])
            v = np.add.reduceat(v, np.flatnonzero(new))
            r, c = r[new], c[new]
        counts = np.bincount(r, minlength=shape[0])
        start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        return cls(start, c.astype(np.int32), v, (int(shape[0]), int(shape[1])))

    @classmethod
    def from_dense(cls, A: ArrayLike) -> SparseRows:
        M = np.asarray(A, dtype=np.float64)
        if M.ndim != 2:
            raise InvalidInputError(f"A must be a 2-D matrix, got shape {M.shape}")
        r, c = np.nonzero(M)
        return cls.from_triplets(r, c, M[r, c], (M.shape[0], M.shape[1]))


def solve_milp(
    c: ArrayLike,
    A: ArrayLike | SparseRows,
    row_lower: ArrayLike,
    row_upper: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
    integer: ArrayLike,
    *,
    time_limit: float | None = None,
) -> MILPResult:
    """Minimise ``c·x`` s.t. ``row_lower <= A x <= row_upper``, ``lower <= x <= upper``, and
    ``x_j`` integral where ``integer[j]``.

    ``A`` is a dense array or a :class:`SparseRows`. The MIP gap tolerances are
    :data:`~preimage.tolerances.MILP_GAP_ABSOLUTE` and ``MILP_GAP_RELATIVE`` (an ``"optimal"``
    answer is proven to that gap), the feasibility and integrality tolerances
    ``MILP_FEASIBILITY``. A time limit answers ``"time_limit"`` with the best point found
    and the proven bound. Unbounded problems raise :class:`SolverError` (the callers'
    problems are bounded).

    >>> res = solve_milp([-1.0, -1.0], [[2.0, 1.0], [1.0, 2.0]], [-np.inf, -np.inf], [4.0, 4.0],
    ...                  [0.0, 0.0], [10.0, 10.0], [True, True])
    >>> res.status, res.value, res.bound      # the LP optimum is -8/3; the integer one -2
    ('optimal', -2.0, -2.0)
    """
    hs = _highspy()
    inf: float = hs.kHighsInf
    M = A if isinstance(A, SparseRows) else SparseRows.from_dense(A)
    m, n = M.shape
    c = np.asarray(c, dtype=np.float64).reshape(-1)
    arrays = [np.asarray(v, dtype=np.float64).reshape(-1).copy() for v in (row_lower, row_upper, lower, upper)]
    integ = np.asarray(integer, dtype=bool).reshape(-1)
    if c.shape[0] != n or integ.shape[0] != n or arrays[2].shape[0] != n or arrays[3].shape[0] != n:
        raise InvalidInputError(f"c, lower, upper and integer must have length {n} (columns of A)")
    if arrays[0].shape[0] != m or arrays[1].shape[0] != m:
        raise InvalidInputError(f"row_lower and row_upper must have length {m} (rows of A)")
    for v in arrays:
        v[np.isneginf(v)] = -inf
        v[np.isposinf(v)] = inf
    lp: highspy.HighsLp = hs.HighsLp()
    lp.num_col_, lp.num_row_ = n, m
    lp.col_cost_, lp.row_lower_, lp.row_upper_, lp.col_lower_, lp.col_upper_ = c, *arrays
    lp.a_matrix_.format_ = hs.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, m
    lp.a_matrix_.start_ = M.start
    lp.a_matrix_.index_ = M.index
    lp.a_matrix_.value_ = M.value
    lp.integrality_ = [hs.HighsVarType.kInteger if f else hs.HighsVarType.kContinuous for f in integ]
    h = _new_highs(time_limit)
    h.setOptionValue("presolve", "on")
    h.setOptionValue("mip_rel_gap", tolerances.MILP_GAP_RELATIVE)
    h.setOptionValue("mip_abs_gap", tolerances.MILP_GAP_ABSOLUTE)
    h.setOptionValue("mip_feasibility_tolerance", tolerances.MILP_FEASIBILITY)
    if h.passModel(lp) == hs.HighsStatus.kError:
        raise SolverError(f"HiGHS refused the MILP ({m} rows, {n} columns)")
    _bump()
    h.run()
    return _milp_result(h, c, bool(integ.any()))


def _milp_result(h: highspy.Highs, c: NDArray[np.float64], mip: bool) -> MILPResult:
    hs = _highspy()
    st = h.getModelStatus()
    S = hs.HighsModelStatus
    info = h.getInfo()
    if not mip:  # no integer column: HiGHS solved an LP (its optimum is its own bound)
        if st == S.kOptimal:
            xl = np.array(h.getSolution().col_value, dtype=np.float64)
            return MILPResult("optimal", xl, float(c @ xl), float(c @ xl), 0)
        if st == S.kInfeasible:
            return MILPResult("infeasible", None, np.inf, np.inf, 0)
        if st == S.kTimeLimit:
            return MILPResult("time_limit", None, np.inf, -np.inf, 0)
        raise SolverError(f"HiGHS ended the LP with status {h.modelStatusToString(st)!r}")
    nodes = int(info.mip_node_count)
    has_x = int(info.primal_solution_status) == 2  # kSolutionStatusFeasible
    x = np.array(h.getSolution().col_value, dtype=np.float64) if has_x else None
    value = float(c @ x) if x is not None else np.inf
    if st == S.kOptimal:
        assert x is not None
        return MILPResult("optimal", x, value, min(float(info.mip_dual_bound), value), nodes)
    if st == S.kInfeasible:
        return MILPResult("infeasible", None, np.inf, np.inf, nodes)
    if st == S.kTimeLimit or st == S.kInterrupt:
        bound = float(info.mip_dual_bound)
        if not np.isfinite(bound) or bound > value:
            bound = -np.inf if not np.isfinite(bound) else min(bound, value)
        return MILPResult("time_limit", x, value, bound, nodes)
    raise SolverError(f"HiGHS ended the MILP with status {h.modelStatusToString(st)!r}")
