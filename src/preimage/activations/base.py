"""The activation protocol: what the engine needs to know about a piecewise-linear activation.

An activation acts on a layer's pre-activation ``z`` (length ``n_in``) and produces its
output ``h`` (length ``n_out``), unit by unit. Each unit has a finite number of
*branches*; on a branch the unit is affine in one entry of ``z``:

    ``h_u = slope · z[src] + intercept``.

Which branch holds is decided by the signs of a few *decisions*, affine functions of ``z``
of the form ``f_k(z) = z[p_k] − z[q_k] + delta_k`` (``q_k = −1``: no second term). A
decision is ``1`` where ``f_k ≥ 0`` and ``0`` where ``f_k ≤ 0``; each branch lists the
decisions it requires. The engine's walk splits a region by the hyperplanes ``f_k = 0``
until every decision is constant on it, then reads off the branches and the affine map.

Two kinds of unit cover every activation here:

* ``ELEMENTWISE`` — ``h_u = φ(z_u)`` with ``φ`` continuous and piecewise linear: its
  decisions are ``z_u − t_i`` for the breakpoints ``t_1 < … < t_m`` and its branch ``b``
  is the piece between ``t_b`` and ``t_{b+1}`` (ReLU, LeakyReLU, HardTanh, the identity).
* ``MAX`` — ``h_u = max_j z[w_j]`` over a window ``w``: its decisions compare two entries,
  ``z[w_i] − z[w_j]`` for ``i < j``, and branch ``j`` is "``z[w_j]`` is the (first) largest"
  (MaxPool).

How a unit relaxes on an interval (sound linear lower and upper bounds used to prune and to
bound later layers) follows from the same data, in one compiled routine per kind
(:func:`relax_units`), so adding an elementwise activation is one small file that lists its
pieces (see :mod:`preimage.activations.leaky_relu`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import tolerances
from .._numba import njit
from .._validation import readonly
from ..errors import InvalidInputError

if TYPE_CHECKING:  # pragma: no cover - annotations only (Sphinx then shows them as written)
    from typing import TypeAlias

    from numpy.typing import ArrayLike, NDArray

    #: a table's flat arrays ``(dec_p, dec_q, dec_delta, dec_unit, unit_off, kind, br_src, br_slope, br_icpt,
    #: req_off, req_dec, req_val)``, in the order the compiled code takes them (:meth:`UnitTable.arrays`)
    TableArrays: TypeAlias = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.int64],
                                   NDArray[np.int64], NDArray[np.int8],
                                   NDArray[np.int64], NDArray[np.float64], NDArray[np.float64],
                                   NDArray[np.int64], NDArray[np.int64], NDArray[np.int8]]
    #: one unit's one-source bounds ``(src_l, a_l, c_l, src_u, a_u, c_u)``
    _Bounds: TypeAlias = tuple[int, float, float, int, float, float]
    #: every unit's one-source bounds ``(src_l, a_l, c_l, src_u, a_u, c_u)`` (see :meth:`Activation.relax`)
    Relaxation: TypeAlias = tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.int64],
                                  NDArray[np.float64], NDArray[np.float64]]

__all__ = ["Activation", "UnitTable", "PiecewiseLinear", "ELEMENTWISE", "MAX", "DONT_CARE", "relax_units",
           "unit_branch", "unit_branches"]

ELEMENTWISE = 0
MAX = 1
#: the value of a decision that does not matter on a region (a max unit's comparison of two
#: entries when a third is larger on the whole region)
DONT_CARE = 2


@dataclass(frozen=True, eq=False)
class UnitTable:
    """An activation's units, branches and decisions on a pre-activation of length ``n_in``,
    as flat arrays (the compiled walk and bounds read these).

    Decisions ``k``: ``f_k = z[dec_p[k]] − z[dec_q[k]] + dec_delta[k]`` (``dec_q[k] = −1``: no
    second term); ``dec_unit[k]`` is its unit. Units ``u``: branches
    ``unit_off[u]:unit_off[u+1]``, of kind ``kind[u]``. Branch ``r``: ``h = br_slope[r] ·
    z[br_src[r]] + br_icpt[r]``, holding when decision ``req_dec[i]`` equals ``req_val[i]`` for
    ``i`` in ``req_off[r]:req_off[r+1]``. ``plain`` is true when the decisions are the
    pre-activations themselves (``f_k = z_k``, one per unit, as for ReLU).
    """

    n_in: int
    dec_p: NDArray[np.int64]
    dec_q: NDArray[np.int64]
    dec_delta: NDArray[np.float64]
    dec_unit: NDArray[np.int64]
    unit_off: NDArray[np.int64]
    kind: NDArray[np.int8]
    br_src: NDArray[np.int64]
    br_slope: NDArray[np.float64]
    br_icpt: NDArray[np.float64]
    req_off: NDArray[np.int64]
    req_dec: NDArray[np.int64]
    req_val: NDArray[np.int8]
    plain: bool

    @property
    def n_units(self) -> int:
        return int(self.unit_off.shape[0] - 1)

    @property
    def n_decisions(self) -> int:
        return int(self.dec_p.shape[0])

    def arrays(self) -> TableArrays:
        """The flat arrays, in the order the compiled code takes them."""
        return (self.dec_p, self.dec_q, self.dec_delta, self.dec_unit, self.unit_off, self.kind,
                self.br_src, self.br_slope, self.br_icpt, self.req_off, self.req_dec, self.req_val)

    def decision_map(self, Z: np.ndarray, z0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The decisions as affine functions ``F u + f0`` given ``z = Z u + z0``."""
        if self.plain:
            return Z, z0
        F = Z[self.dec_p].copy()
        f0 = z0[self.dec_p] + self.dec_delta
        two = self.dec_q >= 0
        F[two] -= Z[self.dec_q[two]]
        f0[two] -= z0[self.dec_q[two]]
        return F, f0

    def branch_map(self, branches: np.ndarray, Z: np.ndarray, z0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The output ``h = H u + h0`` on the given branches (one per unit) of ``z = Z u + z0``."""
        r = self.unit_off[:-1] + np.asarray(branches, dtype=np.int64)
        s = self.br_slope[r]
        src = self.br_src[r]
        return Z[src] * s[:, None], z0[src] * s + self.br_icpt[r]


def _table(n_in: int, dec: list[tuple[int, int, float, int]], units: list[tuple[int, list[tuple[int, float, float,
           list[tuple[int, int]]]]]], plain: bool = False) -> UnitTable:
    """Build a :class:`UnitTable` from Python lists: decisions ``(p, q, delta, unit)`` and units
    ``(kind, [(src, slope, intercept, [(decision, value), ...]), ...])``."""
    unit_off = [0]
    kinds, src, slope, icpt, req_off, req_dec, req_val = [], [], [], [], [0], [], []
    for kind, branches in units:
        kinds.append(kind)
        for s, a, c, reqs in branches:
            src.append(s)
            slope.append(a)
            icpt.append(c)
            for k, v in reqs:
                req_dec.append(k)
                req_val.append(v)
            req_off.append(len(req_dec))
        unit_off.append(len(src))

    def arr(values: list[Any], dtype: Any) -> np.ndarray:
        return readonly(np.array(values, dtype=dtype).reshape(-1))

    return UnitTable(
        n_in,
        arr([d[0] for d in dec], np.int64), arr([d[1] for d in dec], np.int64),
        arr([d[2] for d in dec], np.float64), arr([d[3] for d in dec], np.int64),
        arr(unit_off, np.int64), arr(kinds, np.int8), arr(src, np.int64), arr(slope, np.float64),
        arr(icpt, np.float64), arr(req_off, np.int64), arr(req_dec, np.int64), arr(req_val, np.int8), plain,
    )


class Activation(ABC):
    """A piecewise-linear activation (see the module docstring).

    Subclasses say how the activation evaluates (:meth:`evaluate`), which branch each unit is
    on at given points (:meth:`branches`), its units, branches and decisions
    (:meth:`table`: how it linearises on a branch and how many branches it has), and how it
    is saved (:meth:`spec`). How it relaxes on an interval follows from the table
    (:meth:`relax`).
    """

    #: the name under which it is saved and shown
    name: str = ""
    #: every activation class by its name (filled in as subclasses are defined), for loading
    registry: dict[str, type[Activation]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            Activation.registry[cls.__dict__["name"]] = cls

    @abstractmethod
    def out_dim(self, n_in: int) -> int:
        """Number of output units for a pre-activation of length ``n_in``."""

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The output's shape for a pre-activation of shape ``in_shape``."""
        return in_shape

    @abstractmethod
    def evaluate(self, Z: np.ndarray) -> np.ndarray:
        """The output for a batch of pre-activations ``Z`` of shape ``(N, n_in)``."""

    @abstractmethod
    def branches(self, Z: np.ndarray) -> np.ndarray:
        """The branch of every unit at each row of ``Z``: integers, shape ``(N, n_out)``."""

    @abstractmethod
    def table(self, n_in: int) -> UnitTable:
        """The units, branches and decisions on a pre-activation of length ``n_in``."""

    @abstractmethod
    def spec(self) -> dict[str, Any]:
        """A JSON-able description, read back by :func:`preimage.activations.from_spec`."""

    @property
    def is_identity(self) -> bool:
        """True when the activation is the identity (no branches to decide)."""
        return False

    def max_branches(self, n_in: int) -> int:
        """The largest number of branches of a unit."""
        t = self.table(n_in)
        return int(np.diff(t.unit_off).max()) if t.n_units else 1

    def relax(self, lo: np.ndarray, hi: np.ndarray) -> Relaxation:
        """Sound one-source linear bounds of each unit given ``lo <= z <= hi``.

        Returns ``(src_l, a_l, c_l, src_u, a_u, c_u)``: ``a_l · z[src_l] + c_l <= h_u <=
        a_u · z[src_u] + c_u`` for every ``z`` in the box (exact when the box lies in one branch).
        """
        t = self.table(int(np.shape(lo)[0]))
        return relax_units(*t.arrays(), np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64))

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.spec() == other.spec()

    def __hash__(self) -> int:
        return hash(repr(sorted(self.spec().items())))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.spec().items() if k != "name")
        return f"{type(self).__name__}({args})"


class PiecewiseLinear(Activation):
    """An elementwise continuous piecewise-linear activation ``φ``, given by its breakpoints
    ``t_1 < … < t_m`` and the ``m + 1`` pieces ``φ(z) = slopes[b] · z + intercepts[b]`` on
    ``[t_b, t_{b+1}]``. Branch ``b`` of a unit is ``t_b < z <= t_{b+1}`` at a point (so a
    ReLU is active, branch 1, where ``z > 0``)."""

    def __init__(self, breakpoints: ArrayLike, slopes: ArrayLike, intercepts: ArrayLike) -> None:
        t = np.asarray(breakpoints, dtype=np.float64).reshape(-1)
        s = np.asarray(slopes, dtype=np.float64).reshape(-1)
        c = np.asarray(intercepts, dtype=np.float64).reshape(-1)
        if s.shape != c.shape or s.shape[0] != t.shape[0] + 1:
            raise InvalidInputError(
                f"a piecewise-linear activation with {t.shape[0]} breakpoints needs {t.shape[0] + 1} slopes and "
                f"intercepts, got {s.shape[0]} and {c.shape[0]}")
        if not (np.all(np.isfinite(t)) and np.all(np.isfinite(s)) and np.all(np.isfinite(c))):
            raise InvalidInputError("breakpoints, slopes and intercepts must be finite")
        if np.any(np.diff(t) <= 0):
            raise InvalidInputError(f"breakpoints must increase strictly, got {t.tolist()}")
        left, right = s[:-1] * t + c[:-1], s[1:] * t + c[1:]
        if not np.allclose(left, right, rtol=tolerances.CONTINUITY, atol=tolerances.CONTINUITY):
            raise InvalidInputError(f"the pieces must meet at the breakpoints (continuity): {left} vs {right}")
        self.breakpoints, self.slopes, self.intercepts = readonly(t), readonly(s), readonly(c)
        self._tables: dict[int, UnitTable] = {}

    def out_dim(self, n_in: int) -> int:
        return n_in

    def max_branches(self, n_in: int) -> int:
        return int(self.breakpoints.shape[0] + 1)

    @property
    def is_identity(self) -> bool:
        return bool(self.breakpoints.shape[0] == 0 and self.slopes[0] == 1.0 and self.intercepts[0] == 0.0)

    def evaluate(self, Z: np.ndarray) -> np.ndarray:
        b = self.branches(Z)
        out: np.ndarray = self.slopes[b] * Z + self.intercepts[b]
        return out

    def branches(self, Z: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.breakpoints, Z, side="left").astype(np.int8)

    def table(self, n_in: int) -> UnitTable:
        if n_in not in self._tables:
            m = self.breakpoints.shape[0]
            dec = [(u, -1, -float(t), u) for u in range(n_in) for t in self.breakpoints]
            units = []
            for u in range(n_in):
                branches = []
                for b in range(m + 1):
                    reqs = [(u * m + i, 1 if i < b else 0) for i in range(m)]
                    branches.append((u, float(self.slopes[b]), float(self.intercepts[b]), reqs))
                units.append((ELEMENTWISE, branches))
            plain = m == 1 and self.breakpoints[0] == 0.0
            self._tables[n_in] = _table(n_in, dec, units, plain)
        return self._tables[n_in]

    def spec(self) -> dict[str, Any]:
        if type(self).name:  # a named subclass is saved with its own parameters
            raise NotImplementedError(f"{type(self).__name__} must say how it is saved (spec)")
        return {"name": "piecewise_linear", "breakpoints": self.breakpoints.tolist(),
                "slopes": self.slopes.tolist(), "intercepts": self.intercepts.tolist()}

    def preimage_interval(self, y: float) -> tuple[float, float, int] | None:
        """``{z : φ(z) = y}`` as a closed interval ``(lo, hi, branch)`` when it is one (``φ``
        monotone there), or ``None`` (empty, or several pieces apart)."""
        t, s, c = self.breakpoints, self.slopes, self.intercepts
        m = t.shape[0]
        found: list[tuple[float, float, int]] = []
        for b in range(m + 1):
            lo = -math.inf if b == 0 else float(t[b - 1])
            hi = math.inf if b == m else float(t[b])
            if s[b] == 0.0:
                if c[b] == y:
                    found.append((lo, hi, b))
            else:
                z = (y - c[b]) / s[b]
                if lo <= z <= hi:
                    found.append((z, z, b))
        if not found:
            return None
        lo = min(f[0] for f in found)
        hi = max(f[1] for f in found)
        # one interval: every piece found touches the hull [lo, hi] without gaps
        flat = [f for f in found if f[0] < f[1]]
        branch = flat[0][2] if flat else found[0][2]
        for f in found:
            if f[0] == f[1] and flat and not (flat[0][0] <= f[0] <= flat[-1][1]):
                return None
        if len(flat) > 1 or (not flat and len({f[0] for f in found}) > 1):
            return None
        return lo, hi, branch


# -- compiled: branches and relaxations from the table --------------------------------------------------------
@njit(cache=True, nogil=True)
def unit_branch(unit_off: NDArray[np.int64], req_off: NDArray[np.int64], req_dec: NDArray[np.int64],
                req_val: NDArray[np.int8], dec: NDArray[np.int8], u: int) -> int:
    """The row (in the branch arrays) of unit ``u``'s first branch whose requirements hold
    given the decisions ``dec`` (``DONT_CARE`` satisfies any), or ``-1``."""
    for r in range(unit_off[u], unit_off[u + 1]):
        good = True
        for i in range(req_off[r], req_off[r + 1]):
            v = dec[req_dec[i]]
            if v != req_val[i] and v != DONT_CARE:
                good = False
                break
        if good:
            return r
    return -1


@njit(cache=True, nogil=True)
def unit_branches(unit_off: NDArray[np.int64], req_off: NDArray[np.int64], req_dec: NDArray[np.int64],
                  req_val: NDArray[np.int8], dec: NDArray[np.int8], out: NDArray[np.int8]) -> bool:
    """The branch of every unit given all decisions ``dec`` (0/1, or ``DONT_CARE`` for one
    that does not matter on the region): the first branch whose requirements hold (a region
    on a tie may satisfy several); ``out`` receives them. Returns ``False`` when some unit has
    no consistent branch (decisions contradict)."""
    ok = True
    n_units = unit_off.shape[0] - 1
    for u in range(n_units):
        r = unit_branch(unit_off, req_off, req_dec, req_val, dec, u)
        if r < 0:
            ok = False
            r = unit_off[u]
        out[u] = r - unit_off[u]
    return ok


@njit(cache=True, nogil=True)
def _relax_elementwise(u: int, dec_p: NDArray[np.int64], dec_delta: NDArray[np.float64], unit_off: NDArray[np.int64],
                       br_src: NDArray[np.int64], br_slope: NDArray[np.float64], br_icpt: NDArray[np.float64],
                       first_dec: int, lo: NDArray[np.float64], hi: NDArray[np.float64]) -> _Bounds:
    """One-source bounds of an elementwise unit on ``[lo, hi]`` of its input: upper = the chord
    lifted over every breakpoint; lower = the best (largest mean value) of the pieces' lines
    and the chord, each lowered under every breakpoint (for a ReLU: ``z`` or ``0``, whichever
    has the smaller area, and the chord above)."""
    r0 = unit_off[u]
    nb = unit_off[u + 1] - r0
    src = br_src[r0]
    z_lo = lo[src]
    z_hi = hi[src]
    m = nb - 1
    # the branch of each end
    b_lo = 0
    b_hi = 0
    for i in range(m):
        t = -dec_delta[first_dec + i]
        if t < z_lo:
            b_lo = i + 1
        if t < z_hi:
            b_hi = i + 1
    if b_lo == b_hi or z_hi <= z_lo:
        a = br_slope[r0 + b_hi]
        c = br_icpt[r0 + b_hi]
        return src, a, c, src, a, c
    f_lo = br_slope[r0 + b_lo] * z_lo + br_icpt[r0 + b_lo]
    f_hi = br_slope[r0 + b_hi] * z_hi + br_icpt[r0 + b_hi]
    k = (f_hi - f_lo) / (z_hi - z_lo)
    ck = f_lo - k * z_lo
    up = 0.0
    for i in range(b_lo, b_hi):  # breakpoints strictly inside
        t = -dec_delta[first_dec + i]
        g = br_slope[r0 + i] * t + br_icpt[r0 + i] - (k * t + ck)
        if g > up:
            up = g
    mid = 0.5 * (z_lo + z_hi)
    best_a = 0.0
    best_c = 0.0
    best_v = -np.inf
    for cand in range(b_lo, b_hi + 2):
        if cand <= b_hi:
            a = br_slope[r0 + cand]
            c = br_icpt[r0 + cand]
        else:
            a = k
            c = ck
        # lower the line under the function at the ends and the inner breakpoints
        down = 0.0
        g = f_lo - (a * z_lo + c)
        if g < down:
            down = g
        g = f_hi - (a * z_hi + c)
        if g < down:
            down = g
        for i in range(b_lo, b_hi):
            t = -dec_delta[first_dec + i]
            g = br_slope[r0 + i] * t + br_icpt[r0 + i] - (a * t + c)
            if g < down:
                down = g
        c = c + down
        v = a * mid + c
        if v > best_v:
            best_v = v
            best_a = a
            best_c = c
    return src, best_a, best_c, src, k, ck + up


@njit(cache=True, nogil=True)
def _relax_max(u: int, unit_off: NDArray[np.int64], br_src: NDArray[np.int64], lo: NDArray[np.float64],
               hi: NDArray[np.float64]) -> _Bounds:
    """One-source bounds of ``max_j z[w_j]`` on a box: exact when one entry dominates the
    others; else ``z[w_j] <= h`` for the entry with the largest lower bound and ``h <= max hi``."""
    r0 = unit_off[u]
    r1 = unit_off[u + 1]
    best = r0
    top = -np.inf
    for r in range(r0, r1):
        if lo[br_src[r]] > lo[br_src[best]]:
            best = r
        if hi[br_src[r]] > top:
            top = hi[br_src[r]]
    s = br_src[best]
    dominant = True
    for r in range(r0, r1):
        if r != best and hi[br_src[r]] > lo[s]:
            dominant = False
            break
    if dominant:
        return s, 1.0, 0.0, s, 1.0, 0.0
    return s, 1.0, 0.0, s, 0.0, top


@njit(cache=True, nogil=True)
def relax_units(dec_p: NDArray[np.int64], dec_q: NDArray[np.int64], dec_delta: NDArray[np.float64],
                dec_unit: NDArray[np.int64], unit_off: NDArray[np.int64], kind: NDArray[np.int8],
                br_src: NDArray[np.int64], br_slope: NDArray[np.float64], br_icpt: NDArray[np.float64],
                req_off: NDArray[np.int64], req_dec: NDArray[np.int64], req_val: NDArray[np.int8],
                lo: NDArray[np.float64], hi: NDArray[np.float64]) -> Relaxation:
    """Sound one-source linear bounds of every unit given the box ``lo <= z <= hi`` (see
    :meth:`Activation.relax`)."""
    n = unit_off.shape[0] - 1
    src_l = np.empty(n, dtype=np.int64)
    src_u = np.empty(n, dtype=np.int64)
    a_l = np.empty(n)
    c_l = np.empty(n)
    a_u = np.empty(n)
    c_u = np.empty(n)
    k = 0  # the unit's first decision (decisions are grouped by unit, in unit order)
    for u in range(n):
        first = k
        while k < dec_unit.shape[0] and dec_unit[k] == u:
            k += 1
        if kind[u] == 0:
            s1, a1, c1, s2, a2, c2 = _relax_elementwise(u, dec_p, dec_delta, unit_off, br_src, br_slope, br_icpt,
                                                        first, lo, hi)
        else:
            s1, a1, c1, s2, a2, c2 = _relax_max(u, unit_off, br_src, lo, hi)
        src_l[u] = s1
        a_l[u] = a1
        c_l[u] = c1
        src_u[u] = s2
        a_u[u] = a2
        c_u[u] = c2
    return src_l, a_l, c_l, src_u, a_u, c_u
