"""Reading VNN-LIB properties (the SMT-LIB subset used by VNN-COMP).

A VNN-LIB file declares input variables ``X_i`` and output variables ``Y_j`` and asserts
linear constraints on them; the asserted set is the UNSAFE set. Supported:

* ``(declare-const X_0 Real)`` / ``(declare-const Y_0 Real)``;
* ``(assert E)`` with ``E`` built from ``and``, ``or``, ``<=``, ``>=``, ``<``, ``>``, ``=``
  over linear terms (numbers, variables, ``+``, ``-``, ``*`` by a constant);
* comments after ``;``.

Strict and non-strict inequalities are both read as non-strict (``<`` as ``<=``), as the
VNN-LIB convention asks: ties count as unsafe. A constraint mixing ``X`` and ``Y``
variables is not supported.

The result is a :class:`Spec`: a list of cases ``(input set, [output polyhedra])``. The
unsafe set is ``∪_cases {x ∈ input set : f(x) ∈ ∪ output polyhedra}``.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError
from ..polyhedra import Box, Polyhedron

__all__ = ["Spec", "SpecCase", "load_vnnlib", "parse_vnnlib"]

_TOKEN = re.compile(r"\(|\)|[^\s()]+")


@dataclass(frozen=True, slots=True)
class SpecCase:
    """One case of a spec: inputs in ``domain`` whose output lies in any of ``outputs``."""

    domain: Box | Polyhedron
    outputs: tuple[Polyhedron, ...]


@dataclass(frozen=True, slots=True)
class Spec:
    """A parsed VNN-LIB property: the unsafe set as a union of cases."""

    n_inputs: int
    n_outputs: int
    cases: tuple[SpecCase, ...]
    source: str = ""

    @property
    def domains(self) -> tuple[Box | Polyhedron, ...]:
        return tuple(c.domain for c in self.cases)

    def output_contains(self, Y, tol: float | None = None) -> np.ndarray:
        """Whether each output lies in the unsafe output set of some case (any domain)."""
        Y = np.atleast_2d(np.asarray(Y, dtype=np.float64))
        hit = np.zeros(Y.shape[0], dtype=bool)
        for case in self.cases:
            for P in case.outputs:
                hit |= P.contains(Y, tol=tol)
        return hit

    def is_counterexample(self, x, y, tol: float | None = None) -> bool:
        """Whether input ``x`` (with output ``y``) lies in the unsafe set."""
        x = np.asarray(x, dtype=np.float64).reshape(1, -1)
        y = np.asarray(y, dtype=np.float64).reshape(1, -1)
        for case in self.cases:
            if case.domain.contains(x, tol=tol)[0] and any(P.contains(y, tol=tol)[0] for P in case.outputs):
                return True
        return False


# -- tokens and s-expressions ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Tok:
    text: str
    line: int


def _tokenize(text: str) -> list[_Tok]:
    toks = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.split(";", 1)[0]
        toks.extend(_Tok(m.group(0), lineno) for m in _TOKEN.finditer(line))
    return toks


def _parse_sexprs(toks: list[_Tok], where: str) -> list:
    stack: list[list] = [[]]
    opens: list[int] = []
    for t in toks:
        if t.text == "(":
            stack.append([])
            opens.append(t.line)
        elif t.text == ")":
            if len(stack) == 1:
                raise InvalidInputError(f"{where}, line {t.line}: unbalanced ')'")
            node = stack.pop()
            opens.pop()
            stack[-1].append((node, t.line))
        else:
            stack[-1].append((t.text, t.line))
    if len(stack) != 1:
        raise InvalidInputError(f"{where}, line {opens[-1]}: '(' is never closed")
    return stack[0]


# -- linear terms ---------------------------------------------------------------------------------------
class _Linear:
    """A linear form ``Σ coef[var] var + const`` over named variables."""

    __slots__ = ("coef", "const")

    def __init__(self, coef: dict[str, float] | None = None, const: float = 0.0) -> None:
        self.coef = dict(coef or {})
        self.const = float(const)

    def __add__(self, other: _Linear) -> _Linear:
        out = _Linear(self.coef, self.const + other.const)
        for k, v in other.coef.items():
            out.coef[k] = out.coef.get(k, 0.0) + v
        return out

    def scale(self, s: float) -> _Linear:
        return _Linear({k: v * s for k, v in self.coef.items()}, self.const * s)


@dataclass(frozen=True)
class _Constraint:
    """``form <= 0`` (or ``= 0`` when ``equality``), on one kind of variable."""

    form: _Linear
    equality: bool
    line: int


class _Parser:
    def __init__(self, where: str) -> None:
        self.where = where
        self.inputs: dict[str, int] = {}
        self.outputs: dict[str, int] = {}

    def err(self, line: int, msg: str) -> InvalidInputError:
        return InvalidInputError(f"{self.where}, line {line}: {msg}")

    def declare(self, items, line: int) -> None:
        if len(items) != 3 or not isinstance(items[1][0], str):
            raise self.err(line, "declare-const needs a name and a sort, e.g. (declare-const X_0 Real)")
        name, sort = items[1][0], items[2][0]
        if sort != "Real":
            raise self.err(line, f"only Real variables are supported, got sort {sort!r}")
        m = re.fullmatch(r"([XY])_(\d+)", name)
        if not m:
            raise self.err(line, f"variables must be named X_i or Y_j, got {name!r}")
        table = self.inputs if m.group(1) == "X" else self.outputs
        table[name] = int(m.group(2))

    def term(self, node) -> _Linear:
        value, line = node
        if isinstance(value, str):
            if value in self.inputs or value in self.outputs:
                return _Linear({value: 1.0})
            try:
                return _Linear(const=float(value))
            except ValueError:
                raise self.err(line, f"unknown variable or number {value!r}") from None
        if not value:
            raise self.err(line, "empty term ()")
        op = value[0][0]
        args = [self.term(a) for a in value[1:]]
        if op == "+":
            out = _Linear()
            for a in args:
                out = out + a
            return out
        if op == "-":
            if len(args) == 1:
                return args[0].scale(-1.0)
            out = args[0]
            for a in args[1:]:
                out = out + a.scale(-1.0)
            return out
        if op == "*":
            const = [a for a in args if not a.coef]
            var = [a for a in args if a.coef]
            if len(var) > 1:
                raise self.err(line, "a product of two variables is not linear")
            factor = float(np.prod([a.const for a in const])) if const else 1.0
            return var[0].scale(factor) if var else _Linear(const=factor)
        raise self.err(line, f"unsupported term operator {op!r} (supported: + - *)")

    def formula(self, node) -> list[list[_Constraint]]:
        """Disjunctive normal form: a list of conjunctions."""
        value, line = node
        if isinstance(value, str) or not value:
            raise self.err(line, f"expected a formula, got {value!r}")
        op = value[0][0]
        args = value[1:]
        if op == "and":
            dnf: list[list[_Constraint]] = [[]]
            for a in args:
                sub = self.formula(a)
                dnf = [x + y for x, y in itertools.product(dnf, sub)]
            return dnf
        if op == "or":
            out: list[list[_Constraint]] = []
            for a in args:
                out.extend(self.formula(a))
            return out
        if op in ("<=", "<", ">=", ">", "="):
            if len(args) != 2:
                raise self.err(line, f"({op} ...) needs exactly two arguments, got {len(args)}")
            lhs, rhs = self.term(args[0]), self.term(args[1])
            if op in ("<=", "<", "="):
                form = lhs + rhs.scale(-1.0)
            else:
                form = rhs + lhs.scale(-1.0)
            kinds = {k[0] for k in form.coef}
            if len(kinds) > 1:
                raise self.err(line, "a constraint mixing input (X) and output (Y) variables is not supported")
            if not form.coef:
                if (op == "=" and form.const != 0) or (op != "=" and form.const > 0):
                    return []  # a false constant constraint: no conjunction survives
                return [[]]
            return [[_Constraint(form, op == "=", line)]]
        raise self.err(line, f"unsupported formula operator {op!r} (supported: and, or, <=, >=, <, >, =)")


def _rows(constraints: Iterable[_Constraint], names: dict[str, int], n: int):
    A, b, C, d = [], [], [], []
    for c in constraints:
        row = np.zeros(n)
        for k, v in c.form.coef.items():
            row[names[k]] += v
        (C if c.equality else A).append(row)
        (d if c.equality else b).append(-c.form.const)
    return (np.array(A).reshape(-1, n), np.array(b), np.array(C).reshape(-1, n), np.array(d))


def _input_set(constraints: list[_Constraint], names: dict[str, int], n: int, where: str) -> Box | Polyhedron:
    A, b, C, d = _rows(constraints, names, n)
    single = (np.count_nonzero(A, axis=1) == 1) if A.size else np.zeros(0, dtype=bool)
    if C.shape[0] == 0 and np.all(single):
        lo, hi = np.full(n, -np.inf), np.full(n, np.inf)
        for row, rhs in zip(A, b):
            j = int(np.flatnonzero(row)[0])
            if row[j] > 0:
                hi[j] = min(hi[j], rhs / row[j])
            else:
                lo[j] = max(lo[j], rhs / row[j])
        unbounded = [f"X_{j}" for j in range(n) if not (np.isfinite(lo[j]) and np.isfinite(hi[j]))]
        if unbounded:
            raise InvalidInputError(
                f"{where}: the input set must be bounded, but {', '.join(unbounded)} "
                f"{'has' if len(unbounded) == 1 else 'have'} no lower or upper bound"
            )
        if np.any(lo > hi):
            j = int(np.flatnonzero(lo > hi)[0])
            raise InvalidInputError(f"{where}: the bounds of X_{j} are contradictory ({lo[j]} > {hi[j]})")
        return Box(lo, hi)
    P = Polyhedron(A, b, C, d)
    if not P.is_bounded():
        raise InvalidInputError(f"{where}: the input set must be bounded")
    return P


def parse_vnnlib(text: str, *, source: str = "<string>") -> Spec:
    """Parse VNN-LIB ``text`` into a :class:`Spec` (see the module docstring).

    >>> spec = parse_vnnlib('''
    ... (declare-const X_0 Real)
    ... (declare-const Y_0 Real)
    ... (declare-const Y_1 Real)
    ... (assert (>= X_0 -1))
    ... (assert (<= X_0 1))
    ... (assert (or (and (<= Y_0 Y_1)) (and (>= Y_0 5))))
    ... ''')
    >>> spec.n_inputs, spec.n_outputs, len(spec.cases[0].outputs)
    (1, 2, 2)
    """
    where = source
    toks = _tokenize(text)
    parser = _Parser(where)
    asserts = []
    for node, line in _parse_sexprs(toks, where):
        if isinstance(node, str) or not node:
            raise InvalidInputError(f"{where}, line {line}: expected a command in parentheses, got {node!r}")
        head = node[0][0]
        if head == "declare-const":
            parser.declare(node, line)
        elif head == "assert":
            if len(node) != 2:
                raise InvalidInputError(f"{where}, line {line}: assert takes one formula")
            asserts.append(node[1])
        else:
            raise InvalidInputError(
                f"{where}, line {line}: unsupported command {head!r} (supported: declare-const, assert)"
            )
    n_in = max(parser.inputs.values(), default=-1) + 1
    n_out = max(parser.outputs.values(), default=-1) + 1
    if n_in == 0 or n_out == 0:
        raise InvalidInputError(f"{where}: a property needs declared X_ and Y_ variables")
    if len(parser.inputs) != n_in or len(parser.outputs) != n_out:
        raise InvalidInputError(
            f"{where}: variables must be numbered X_0..X_{n_in - 1} and Y_0..Y_{n_out - 1} without gaps"
        )
    dnf: list[list[_Constraint]] = [[]]
    for a in asserts:
        dnf = [x + y for x, y in itertools.product(dnf, parser.formula(a))]
    # group the conjunctions by their input part
    groups: dict[tuple, tuple[list[_Constraint], list[list[_Constraint]]]] = {}
    for conj in dnf:
        xs = [c for c in conj if next(iter(c.form.coef))[0] == "X"]
        ys = [c for c in conj if next(iter(c.form.coef))[0] == "Y"]
        key = tuple(sorted((tuple(sorted(c.form.coef.items())), c.form.const, c.equality) for c in xs))
        groups.setdefault(key, (xs, []))[1].append(ys)
    cases = []
    for xs, ylists in groups.values():
        domain = _input_set(xs, parser.inputs, n_in, where)
        outs = []
        for ys in ylists:
            A, b, C, d = _rows(ys, parser.outputs, n_out)
            outs.append(Polyhedron(A, b, C, d))
        cases.append(SpecCase(domain, tuple(outs)))
    if not cases:
        raise InvalidInputError(
            f"{where}: the asserted constraints are contradictory constants (the unsafe set is empty)"
        )
    return Spec(n_in, n_out, tuple(cases), source)


def load_vnnlib(path) -> Spec:
    """Read a VNN-LIB file; see :func:`parse_vnnlib`."""
    p = os.fspath(path)
    if not os.path.exists(p):
        raise InvalidInputError(f"VNN-LIB file {p!r} does not exist")
    try:
        with open(p, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read VNN-LIB file {p!r}: {exc}") from exc
    return parse_vnnlib(text, source=os.path.basename(p))
