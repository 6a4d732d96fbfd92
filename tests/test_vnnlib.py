"""VNN-LIB parsing: the ten ACAS Xu properties, syntax variants, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import preimage
from preimage import Box, InvalidInputError
from preimage.specs import load_vnnlib, parse_vnnlib

HEADER = "\n".join(f"(declare-const X_{i} Real)" for i in range(2)) + "\n" + \
    "\n".join(f"(declare-const Y_{j} Real)" for j in range(2)) + "\n"
BOX = "(assert (>= X_0 -1))\n(assert (<= X_0 1))\n(assert (>= X_1 0))\n(assert (<= X_1 2))\n"


def test_acasxu_properties(acasxu):
    p1 = load_vnnlib(acasxu / "vnnlib" / "prop_1.vnnlib")
    assert p1.n_inputs == 5 and p1.n_outputs == 5 and len(p1.cases) == 1
    box = p1.cases[0].domain
    assert isinstance(box, Box)
    assert np.allclose(box.lo, [0.6, -0.5, -0.5, 0.45, -0.5]) and np.allclose(
        box.hi, [0.679857769, 0.5, 0.5, 0.5, -0.45]
    )
    out = p1.cases[0].outputs[0]
    # unsafe: Y_0 >= 3.991125645861615
    assert out.contains([4.0, 0, 0, 0, 0]) and not out.contains([3.9, 0, 0, 0, 0])
    p4 = load_vnnlib(acasxu / "vnnlib" / "prop_4.vnnlib")
    assert p4.cases[0].domain.dim == 4  # a zero-width input interval
    p6 = load_vnnlib(acasxu / "vnnlib" / "prop_6.vnnlib")
    assert len(p6.cases) == 2  # a union of two input boxes
    p7 = load_vnnlib(acasxu / "vnnlib" / "prop_7.vnnlib")
    assert len(p7.cases[0].outputs) == 2  # a disjunction of conjunctions


def test_strict_and_nonstrict_are_both_nonstrict():
    spec = parse_vnnlib(HEADER + BOX + "(assert (< Y_0 Y_1))")
    P = spec.cases[0].outputs[0]
    assert P.contains([1.0, 1.0])  # a tie counts as unsafe


def test_linear_terms_and_equalities():
    spec = parse_vnnlib(HEADER + BOX + "(assert (<= (+ (* 2 Y_0) (- Y_1 3)) 1))\n(assert (= Y_1 (- 1)))")
    P = spec.cases[0].outputs[0]
    # 2 y0 + y1 - 3 <= 1 and y1 = -1  ->  y0 <= 2.5
    assert P.contains([2.5, -1.0]) and not P.contains([2.6, -1.0]) and not P.contains([0.0, 0.0])


def test_general_linear_input_constraints_make_a_polyhedron():
    spec = parse_vnnlib(HEADER + BOX + "(assert (<= (+ X_0 X_1) 1))\n(assert (>= Y_0 0))")
    dom = spec.cases[0].domain
    assert isinstance(dom, preimage.Polyhedron)
    assert dom.contains([0.0, 1.0]) and not dom.contains([0.5, 1.0])


@pytest.mark.parametrize("text,line,msg", [
    (HEADER + BOX + "(assert (>= (* Y_0 Y_1) 0))", 9, "not linear"),
    (HEADER + BOX + "(assert (>= Y_0 X_0))", 9, "mixing input"),
    (HEADER + BOX + "(assert (foo Y_0 0))", 9, "unsupported formula operator 'foo'"),
    (HEADER + BOX + "(assert (>= Z_0 0))", 9, "unknown variable"),
    (HEADER + BOX + "(check-sat)", 9, "unsupported command 'check-sat'"),
    (HEADER + BOX + "(assert (>= Y_0 0)", 9, "never closed"),
    (HEADER.replace("Real", "Int", 1) + BOX, 1, "only Real"),
])
def test_unsupported_syntax_names_the_line(text, line, msg):
    with pytest.raises(InvalidInputError, match=rf"line {line}: .*{msg}"):
        parse_vnnlib(text)


def test_unbounded_input_is_refused():
    with pytest.raises(InvalidInputError, match="X_1 has no lower or upper bound"):
        parse_vnnlib(HEADER + "(assert (>= X_0 -1))\n(assert (<= X_0 1))\n(assert (>= X_1 0))\n(assert (>= Y_0 0))")


def test_missing_file():
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_vnnlib("/nonexistent/prop.vnnlib")
