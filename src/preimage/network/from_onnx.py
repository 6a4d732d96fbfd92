"""Import ONNX models as :class:`~preimage.network.Network`.

Supported operations: Gemm (``transA``/``transB``, ``alpha``, ``beta``), MatMul, Add, Sub,
Mul and Div by constants, Flatten, Reshape, Transpose, Squeeze, Unsqueeze, Conv,
BatchNormalization, AveragePool, Identity, Constant, Dropout (inference), and constant
folding of Cast/Concat/Shape-free arithmetic. The batch dimension may be symbolic.

Activations (:mod:`preimage.activations`): Relu, LeakyRelu (``alpha``), PRelu with a
constant slope that is one number (a LeakyReLU; a slope differing between channels is
refused), Clip with constant bounds (both: a HardTanh, e.g. ReLU6; ``Clip(0, ∞)``: a ReLU;
one of them: a piecewise-linear unit with one breakpoint), and MaxPool (1-D and 2-D; symmetric
``pads``, no dilation, ``ceil_mode=0``, ``storage_order=0``, no ``Indices`` output). An
activation after affine operations becomes their layer's activation; one with no affine
operation before it gets an identity affine layer.

Every import ends by comparing the converted network with the original model run in
onnxruntime on random inputs; a disagreement raises :class:`~preimage.errors.ImportMismatchError`.
onnxruntime's outputs are cached per model file (see ``_reference_outputs``), so a model
loaded again is still checked, without starting onnxruntime.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import HardTanh, LeakyReLU, MaxPool, PiecewiseLinear, ReLU
from ..errors import ImportMismatchError, InvalidInputError, UnsupportedLayerError
from .builder import ChainBuilder, LinearExpr, compare_with_reference
from .convolution import avgpool_matrix, conv_matrix
from .network import Network

__all__ = ["load_onnx", "SUPPORTED_OPS"]

log = logging.getLogger(__name__)

SUPPORTED_OPS = (
    "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "PRelu", "Clip", "MaxPool",
    "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Conv", "BatchNormalization",
    "AveragePool", "Identity", "Constant", "Dropout", "Cast",
)


@dataclass(frozen=True)
class _Data:
    """A tensor that depends on the input: its expression and where the batch axis is."""

    expr: LinearExpr
    rank: int        # rank of the full tensor (batch axis included)
    batch_axis: int  # position of the batch axis in the full tensor

    def full_shape(self) -> tuple[int, ...]:
        s = list(self.expr.shape)
        s.insert(self.batch_axis, 1)
        return tuple(s)


def _attrs(node) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _node_label(node, index: int) -> str:
    return f"{node.op_type} node {node.name!r}" if node.name else f"{node.op_type} node #{index}"


def _read_model(path):
    import onnx

    path = os.fspath(path)
    if not os.path.exists(path):
        raise InvalidInputError(f"model path {path!r} does not exist")
    try:
        model = onnx.load(path)
    except Exception as exc:  # protobuf DecodeError, truncated files, ...
        raise InvalidInputError(f"{path!r} is not a readable ONNX model: {type(exc).__name__}: {exc}") from exc
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        raise InvalidInputError(f"{path!r} is not a valid ONNX model: {exc}") from exc
    if len(model.graph.node) == 0:
        raise InvalidInputError(f"{path!r} holds an ONNX graph without nodes")
    return model


def load_onnx(path, *, check: bool = True, n_check: int = 32, seed: int = 0) -> Network:
    """Read an ONNX file into a :class:`Network` (checked against onnxruntime).

    Parameters
    ----------
    path : path of the ``.onnx`` file.
    check : compare with onnxruntime on ``n_check`` random inputs (seeded by ``seed``).
    """
    from onnx import numpy_helper

    model = _read_model(path)
    graph = model.graph
    consts: dict[str, np.ndarray] = {}
    for init in graph.initializer:
        consts[init.name] = numpy_helper.to_array(init)
    inputs = [i for i in graph.input if i.name not in consts]
    if len(inputs) != 1:
        raise UnsupportedLayerError(
            f"the model must have exactly one input tensor, got {len(inputs)}: {[i.name for i in inputs]}"
        )
    inp = inputs[0]
    dims = [(d.dim_value if d.HasField("dim_value") else None) for d in inp.type.tensor_type.shape.dim]
    if not dims:
        raise UnsupportedLayerError(f"input {inp.name!r} has no shape information")
    if len(dims) == 1:
        raise UnsupportedLayerError(f"input {inp.name!r} has rank 1; a leading batch dimension is required")
    if dims[0] not in (None, 0, 1):
        log.info("input %s has fixed batch size %s; importing one sample", inp.name, dims[0])
    per_sample = tuple(dims[1:])
    if any(d is None or d <= 0 for d in per_sample):
        raise UnsupportedLayerError(f"input {inp.name!r} has a symbolic non-batch dimension: {dims}")
    builder = ChainBuilder(per_sample)
    values: dict[str, Any] = dict(consts)
    values[inp.name] = _Data(builder.input(), len(dims), 0)
    for index, node in enumerate(graph.node):
        label = _node_label(node, index)
        try:
            outs = _convert(node, label, values, builder)
        except (InvalidInputError, UnsupportedLayerError):
            raise
        except Exception as exc:  # numpy broadcasting etc. inside a conversion
            raise UnsupportedLayerError(f"{label} could not be converted: {type(exc).__name__}: {exc}") from exc
        for name, val in zip(node.output, outs):
            if name:
                values[name] = val
    if len(graph.output) != 1:
        raise UnsupportedLayerError(f"the model must have exactly one output, got {len(graph.output)}")
    out = values.get(graph.output[0].name)
    if not isinstance(out, _Data):
        raise UnsupportedLayerError(f"output {graph.output[0].name!r} does not depend on the input")
    if out.batch_axis != 0:
        out = _transpose_to_front(out, builder, "output")
    net = builder.finish(out.expr, name=os.path.basename(os.fspath(path)))
    if check:
        _check_against_onnxruntime(model, inp.name, dims, net, out, n_check, seed, path)
    return net


def _transpose_to_front(d: _Data, builder: ChainBuilder, name: str) -> _Data:
    perm = [d.batch_axis] + [a for a in range(d.rank) if a != d.batch_axis]
    return _transpose(d, perm, builder, name)


def _transpose(d: _Data, perm, builder: ChainBuilder, name: str) -> _Data:
    import scipy.sparse as sp

    perm = [int(p) for p in perm]
    full = d.full_shape()
    new_batch = perm.index(d.batch_axis)
    idx = np.arange(int(np.prod(full))).reshape(full)
    moved = np.transpose(idx, perm)
    new_full = moved.shape
    per_new = tuple(s for a, s in enumerate(new_full) if a != new_batch)
    src = moved.reshape(-1)  # new position -> old flat index (batch axis has size 1)
    if np.array_equal(src, np.arange(src.size)):  # only the batch axis moved
        return _Data(builder.reshape(d.expr, per_new, name), d.rank, new_batch)
    P = sp.csr_array((np.ones(src.size), (np.arange(src.size), src)), shape=(src.size, src.size))
    expr = builder.linear(d.expr, P, None, per_new, name)
    return _Data(expr, d.rank, new_batch)


def _per_sample_const(value: np.ndarray, d: _Data, label: str) -> np.ndarray:
    """Broadcast a constant against the full data tensor and drop the batch axis."""
    full = d.full_shape()
    v = np.asarray(value, dtype=np.float64)
    if v.ndim > d.rank:
        raise UnsupportedLayerError(f"{label}: constant of shape {v.shape} broadcasts over the batch")
    try:
        b = np.broadcast_to(v, np.broadcast_shapes(v.shape, full))
    except ValueError as exc:
        raise InvalidInputError(f"{label}: constant of shape {v.shape} does not broadcast to {full}") from exc
    if b.shape != full:
        raise UnsupportedLayerError(f"{label}: constant of shape {v.shape} would enlarge the tensor {full}")
    return np.take(b, 0, axis=d.batch_axis)


def _convert(node, label: str, values: dict, builder: ChainBuilder) -> list:
    op = node.op_type
    a = _attrs(node)
    ins = [values.get(n) if n else None for n in node.input]
    for n, v in zip(node.input, ins):
        if n and v is None:
            raise UnsupportedLayerError(f"{label}: input {n!r} is not produced by any earlier node")
    data = [v for v in ins if isinstance(v, _Data)]
    if not data:
        return _fold_constant(node, label, ins, a)
    if op in ("Identity", "Dropout", "Cast"):
        if op == "Dropout" and a.get("training_mode", 0):
            raise UnsupportedLayerError(f"{label}: Dropout in training mode")
        if len(node.input) > 2 and op == "Dropout" and ins[2] is not None and bool(np.asarray(ins[2])):
            raise UnsupportedLayerError(f"{label}: Dropout with training_mode=True")
        return [ins[0]]
    if op == "Relu":
        d = ins[0]
        return [_Data(builder.relu(d.expr, label), d.rank, d.batch_axis)]
    if op == "LeakyRelu":
        d = ins[0]
        return [_activate(d, LeakyReLU(float(a.get("alpha", 0.01))), label, builder)]
    if op == "PRelu":
        return [_prelu(ins, label, builder)]
    if op == "Clip":
        return [_clip(ins, a, label, builder)]
    if op == "MaxPool":
        if len(node.output) > 1 and node.output[1]:
            raise UnsupportedLayerError(f"{label}: MaxPool with an Indices output (only the pooled values are "
                                        f"supported)")
        return [_maxpool(ins[0], a, label, builder)]
    if op in ("Add", "Sub"):
        x, y = ins
        if isinstance(x, _Data) and isinstance(y, _Data):
            return [_add_data(x, y, op == "Sub", label, builder)]
        if isinstance(x, _Data):
            shift = _per_sample_const(y, x, label)
            return [
                _Data(builder.scale_shift(x.expr, 1.0, -shift if op == "Sub" else shift, label), x.rank, x.batch_axis)
            ]
        shift = _per_sample_const(x, y, label)
        sign = -1.0 if op == "Sub" else 1.0
        return [_Data(builder.scale_shift(y.expr, sign, shift, label), y.rank, y.batch_axis)]
    if op in ("Mul", "Div"):
        x, y = ins
        if isinstance(x, _Data) and isinstance(y, _Data):
            raise UnsupportedLayerError(f"{label}: product of two input-dependent tensors is not affine")
        if op == "Div" and not isinstance(x, _Data):
            raise UnsupportedLayerError(f"{label}: division by an input-dependent tensor is not affine")
        d, k = (x, y) if isinstance(x, _Data) else (y, x)
        s = _per_sample_const(k, d, label)
        if op == "Div":
            if np.any(s == 0):
                raise InvalidInputError(f"{label}: division by a constant with zero entries")
            s = 1.0 / s
        return [_Data(builder.scale_shift(d.expr, s, 0.0, label), d.rank, d.batch_axis)]
    if op == "Flatten":
        d = ins[0]
        axis = int(a.get("axis", 1))
        axis = axis + d.rank if axis < 0 else axis
        if d.batch_axis != 0 or axis != 1:
            raise UnsupportedLayerError(f"{label}: Flatten with axis={a.get('axis', 1)} mixes the batch axis")
        return [_Data(builder.reshape(d.expr, (d.expr.size,), label), 2, 0)]
    if op == "Reshape":
        d, shape = ins[0], ins[1]
        if isinstance(shape, _Data):
            raise UnsupportedLayerError(f"{label}: Reshape to an input-dependent shape")
        return [_reshape(d, np.asarray(shape).astype(np.int64), bool(a.get("allowzero", 0)), label, builder)]
    if op == "Transpose":
        d = ins[0]
        perm = a.get("perm", list(range(d.rank))[::-1])
        return [_transpose(d, perm, builder, label)]
    if op in ("Squeeze", "Unsqueeze"):
        d = ins[0]
        axes = a.get("axes")
        if axes is None and len(ins) > 1 and ins[1] is not None:
            axes = [int(v) for v in np.asarray(ins[1]).reshape(-1)]
        return [_squeeze(d, axes, op == "Unsqueeze", label, builder)]
    if op == "Gemm":
        return [_gemm(ins, a, label, builder)]
    if op == "MatMul":
        return [_matmul(ins, label, builder)]
    if op == "Conv":
        return [_conv(ins, a, label, builder)]
    if op == "BatchNormalization":
        d = ins[0]
        if a.get("training_mode", 0):
            raise UnsupportedLayerError(f"{label}: BatchNormalization in training mode")
        scale, bias, mean, var = (np.asarray(v, dtype=np.float64) for v in ins[1:5])
        eps = float(a.get("epsilon", 1.0e-5))  # the ONNX default epsilon (part of the op), not a tolerance
        g = scale / np.sqrt(var + eps)
        shape = [1] * d.rank
        shape[1 if d.batch_axis == 0 else 0] = -1
        s = _per_sample_const(g.reshape(shape), d, label)
        t = _per_sample_const((bias - mean * g).reshape(shape), d, label)
        return [_Data(builder.scale_shift(d.expr, s, t, label), d.rank, d.batch_axis)]
    if op == "AveragePool":
        return [_avgpool(ins[0], a, label, builder)]
    raise UnsupportedLayerError(
        f"{label}: ONNX op {op!r} is not supported (supported: {', '.join(SUPPORTED_OPS)})"
    )


def _fold_constant(node, label: str, ins: list, a: dict) -> list:
    op = node.op_type
    if op == "Constant":
        from onnx import numpy_helper

        if "value" in a:
            return [numpy_helper.to_array(a["value"])]
        for key in ("value_float", "value_int"):
            if key in a:
                return [np.asarray(a[key])]
        for key in ("value_floats", "value_ints"):
            if key in a:
                return [np.asarray(a[key])]
        raise UnsupportedLayerError(f"{label}: Constant without a numeric value")
    vals = [np.asarray(v) if v is not None else None for v in ins]
    if op in ("Identity", "Dropout", "Cast"):
        if op == "Cast":
            from onnx import helper

            return [vals[0].astype(helper.tensor_dtype_to_np_dtype(a["to"]))]
        return [vals[0]]
    simple = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide, "MatMul": np.matmul}
    if op in simple:
        return [simple[op](vals[0], vals[1])]
    if op == "Relu":
        return [np.maximum(vals[0], 0)]
    if op == "Reshape":
        return [vals[0].reshape(vals[1].astype(np.int64))]
    if op == "Transpose":
        return [np.transpose(vals[0], a.get("perm"))]
    if op == "Concat":
        return [np.concatenate(vals, axis=int(a["axis"]))]
    if op == "Unsqueeze":
        axes = a.get("axes") if "axes" in a else [int(v) for v in vals[1].reshape(-1)]
        return [np.expand_dims(vals[0], tuple(axes))]
    if op == "Squeeze":
        axes = a.get("axes") if "axes" in a else ([int(v) for v in vals[1].reshape(-1)] if len(vals) > 1 else None)
        return [np.squeeze(vals[0], axis=None if axes is None else tuple(axes))]
    raise UnsupportedLayerError(
        f"{label}: ONNX op {op!r} on constants is not supported (supported: {', '.join(SUPPORTED_OPS)})"
    )


def _add_data(x: _Data, y: _Data, subtract: bool, label: str, builder: ChainBuilder) -> _Data:
    if x.expr.base != y.expr.base or x.expr.shape != y.expr.shape or x.batch_axis != y.batch_axis:
        raise UnsupportedLayerError(
            f"{label}: adding two input-dependent tensors is supported only within one layer "
            f"(same shapes, no ReLU between them) — this looks like a skip/residual connection"
        )
    import scipy.sparse as sp

    n = builder.input_shape if x.expr.base == 0 else builder.layers[x.expr.base - 1].out_shape
    size = int(np.prod(n))
    Mx = sp.eye_array(size, format="csr") if x.expr.M is None else x.expr.M
    My = sp.eye_array(size, format="csr") if y.expr.M is None else y.expr.M
    sign = -1.0 if subtract else 1.0
    M = Mx + sign * My
    if hasattr(M, "toarray") and not isinstance(M, np.ndarray):
        M = sp.csr_array(M)
    expr = LinearExpr(x.expr.base, x.expr.shape, M, x.expr.c + sign * y.expr.c, None, x.expr.ops + (label,))
    return _Data(expr, x.rank, x.batch_axis)


def _reshape(d: _Data, shape: np.ndarray, allowzero: bool, label: str, builder: ChainBuilder) -> _Data:
    if d.batch_axis != 0:
        d = _transpose_to_front(d, builder, label + " (batch to front)")
    full = list(d.full_shape())
    target = [int(s) for s in shape]
    for i, s in enumerate(target):
        if s == 0 and not allowzero:
            target[i] = full[i]
    if not target or target[0] not in (1, -1):
        raise UnsupportedLayerError(f"{label}: Reshape to {list(shape)} does not keep a leading batch axis")
    target[0] = 1
    total = d.expr.size
    if target.count(-1) > 1:
        raise InvalidInputError(f"{label}: Reshape target {list(shape)} has more than one -1")
    if -1 in target:
        known = int(np.prod([s for s in target if s != -1]))
        target[target.index(-1)] = total // known
    if int(np.prod(target)) != total:
        raise InvalidInputError(f"{label}: cannot reshape {tuple(full)} to {list(shape)}")
    return _Data(builder.reshape(d.expr, tuple(target[1:]), label), len(target), 0)


def _squeeze(d: _Data, axes, unsqueeze: bool, label: str, builder: ChainBuilder) -> _Data:
    full = list(d.full_shape())
    if unsqueeze:
        rank = d.rank + len(axes)
        axes = sorted(a + rank if a < 0 else a for a in axes)
        new = list(full)
        batch = d.batch_axis
        for ax in axes:
            new.insert(ax, 1)
            if ax <= batch:
                batch += 1
    else:
        if axes is None:
            axes = [i for i, s in enumerate(full) if s == 1 and i != d.batch_axis]
        axes = sorted(a + d.rank if a < 0 else a for a in axes)
        if d.batch_axis in axes:
            raise UnsupportedLayerError(f"{label}: Squeeze removes the batch axis")
        new = [s for i, s in enumerate(full) if i not in axes]
        batch = d.batch_axis - sum(1 for ax in axes if ax < d.batch_axis)
    per = tuple(s for i, s in enumerate(new) if i != batch)
    return _Data(builder.reshape(d.expr, per, label), len(new), batch)


def _gemm(ins: list, a: dict, label: str, builder: ChainBuilder) -> _Data:
    A, B = ins[0], ins[1]
    C = ins[2] if len(ins) > 2 else None
    alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
    tA, tB = int(a.get("transA", 0)), int(a.get("transB", 0))
    if isinstance(C, _Data):
        raise UnsupportedLayerError(f"{label}: Gemm with an input-dependent C")
    if isinstance(A, _Data) and not isinstance(B, _Data):
        if A.rank != 2:
            raise UnsupportedLayerError(f"{label}: Gemm input of rank {A.rank}")
        # A' = A or Aᵀ must hold one sample per row: the batch axis must end up first
        if (A.batch_axis == 0) == bool(tA):
            raise UnsupportedLayerError(f"{label}: Gemm with transA={tA} would mix samples")
        Bp = np.asarray(B, dtype=np.float64)
        Bp = Bp.T if tB else Bp
        W = alpha * Bp.T                       # y = alpha B'ᵀ a + beta c
        m = W.shape[0]
        bias = 0.0 if C is None else beta * np.broadcast_to(np.asarray(C, dtype=np.float64), (1, m)).reshape(-1)
        expr = builder.linear(A.expr, W, bias, (m,), label)
        return _Data(expr, 2, 0)
    if isinstance(B, _Data) and not isinstance(A, _Data):
        if B.rank != 2:
            raise UnsupportedLayerError(f"{label}: Gemm input of rank {B.rank}")
        if (B.batch_axis == 1) == bool(tB):
            raise UnsupportedLayerError(f"{label}: Gemm with transB={tB} would mix samples")
        Ap = np.asarray(A, dtype=np.float64)
        Ap = Ap.T if tA else Ap
        W = alpha * Ap                          # Y = alpha A' B' : columns are samples
        m = W.shape[0]
        bias = 0.0 if C is None else beta * np.broadcast_to(np.asarray(C, dtype=np.float64), (m, 1)).reshape(-1)
        expr = builder.linear(B.expr, W, bias, (m,), label)
        return _Data(expr, 2, 1)
    raise UnsupportedLayerError(f"{label}: Gemm of two input-dependent tensors is not affine")


def _matmul(ins: list, label: str, builder: ChainBuilder) -> _Data:
    X, B = ins
    if isinstance(X, _Data) and not isinstance(B, _Data):
        Bm = np.asarray(B, dtype=np.float64)
        if Bm.ndim != 2:
            raise UnsupportedLayerError(f"{label}: MatMul with a constant of rank {Bm.ndim}")
        if X.batch_axis != 0:
            X = _transpose_to_front(X, builder, label + " (batch to front)")
        per = X.expr.shape
        if per[-1] != Bm.shape[0]:
            raise InvalidInputError(f"{label}: cannot multiply a tensor of shape {X.full_shape()} by {Bm.shape}")
        lead = int(np.prod(per[:-1])) if len(per) > 1 else 1
        if lead == 1:
            W = Bm.T
        else:
            import scipy.sparse as sp

            W = sp.kron(sp.eye_array(lead), sp.csr_array(Bm.T), format="csr")
        expr = builder.linear(X.expr, W, None, per[:-1] + (Bm.shape[1],), label)
        return _Data(expr, X.rank, 0)
    if isinstance(B, _Data) and not isinstance(X, _Data):
        Am = np.asarray(X, dtype=np.float64)
        if Am.ndim != 2 or B.rank != 2 or B.batch_axis != 1:
            raise UnsupportedLayerError(f"{label}: MatMul of a constant by the data tensor in this layout")
        expr = builder.linear(B.expr, Am, None, (Am.shape[0],), label)
        return _Data(expr, 2, 1)
    raise UnsupportedLayerError(f"{label}: MatMul of two input-dependent tensors is not affine")


def _same_padding(in_sp, k, s, dil, upper: bool) -> list[int]:
    begins, ends = [], []
    for n, kk, ss, dl in zip(in_sp, k, s, dil):
        out = -(-n // ss)
        total = max((out - 1) * ss + (kk - 1) * dl + 1 - n, 0)
        small, big = total // 2, total - total // 2
        begins.append(small if upper else big)
        ends.append(big if upper else small)
    return begins + ends


def _conv(ins: list, a: dict, label: str, builder: ChainBuilder) -> _Data:
    X, Wt = ins[0], ins[1]
    bias = ins[2] if len(ins) > 2 else None
    if isinstance(Wt, _Data) or isinstance(bias, _Data):
        raise UnsupportedLayerError(f"{label}: Conv with input-dependent weights")
    if X.batch_axis != 0:
        raise UnsupportedLayerError(f"{label}: Conv on a tensor whose batch axis is not first")
    K = np.asarray(Wt, dtype=np.float64)
    nd = K.ndim - 2
    in_shape = X.expr.shape
    stride = a.get("strides", [1] * nd)
    dil = a.get("dilations", [1] * nd)
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = _same_padding(in_shape[1:], K.shape[2:], stride, dil, auto == "SAME_UPPER")
    elif auto == "VALID":
        pads = [0] * (2 * nd)
    else:
        pads = a.get("pads", [0] * (2 * nd))
    W, info = conv_matrix(K, in_shape, stride=stride, padding=pads, dilation=dil,
                          groups=int(a.get("group", 1)),
                          bias=None if bias is None else np.asarray(bias, dtype=np.float64))
    per_pos = int(np.prod(info.out_shape[1:]))
    b = None if bias is None else np.repeat(np.asarray(bias, dtype=np.float64), per_pos)
    return _Data(builder.linear(X.expr, W, b, info.out_shape, label, conv=info), X.rank, 0)


def _avgpool(X: _Data, a: dict, label: str, builder: ChainBuilder) -> _Data:
    if X.batch_axis != 0:
        raise UnsupportedLayerError(f"{label}: AveragePool on a tensor whose batch axis is not first")
    if int(a.get("ceil_mode", 0)):
        raise UnsupportedLayerError(f"{label}: AveragePool with ceil_mode=1")
    k = a["kernel_shape"]
    nd = len(k)
    stride = a.get("strides", [1] * nd)
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = _same_padding(X.expr.shape[1:], k, stride, [1] * nd, auto == "SAME_UPPER")
    else:
        pads = a.get("pads", [0] * (2 * nd))
    if any(int(v) != 1 for v in a.get("dilations", [1] * nd)):
        raise UnsupportedLayerError(f"{label}: AveragePool with dilations")
    W, out_shape = avgpool_matrix(X.expr.shape, k, stride=stride, padding=pads,
                                  count_include_pad=bool(a.get("count_include_pad", 0)))
    return _Data(builder.linear(X.expr, W, None, out_shape, label), X.rank, 0)


def _activate(d: _Data, activation, label: str, builder: ChainBuilder) -> _Data:
    """``activation(d)``: closes the layer (the activation acts on the per-sample tensor, so the
    batch axis must be first for one that is laid out on a shape, as MaxPool)."""
    return _Data(builder.activate(d.expr, activation, label), d.rank, d.batch_axis)


def _prelu(ins: list, label: str, builder: ChainBuilder) -> _Data:
    d, slope = ins[0], ins[1]
    if isinstance(slope, _Data):
        raise UnsupportedLayerError(f"{label}: PRelu with an input-dependent slope is not piecewise linear")
    s = np.asarray(slope, dtype=np.float64)
    if s.size == 0:
        raise InvalidInputError(f"{label}: PRelu with an empty slope")
    if not np.all(s == s.reshape(-1)[0]):
        raise UnsupportedLayerError(
            f"{label}: PRelu with a slope that differs between channels (shape {s.shape}, values from "
            f"{s.min():.6g} to {s.max():.6g}); only one slope shared by every unit (a LeakyReLU) is supported")
    _per_sample_const(s, d, label)  # the slope must broadcast to the tensor
    return _activate(d, LeakyReLU(float(s.reshape(-1)[0])), label, builder)


#: Clip's attribute defaults (opset < 11) are float32's extremes: bounds this large are no bounds
_NO_BOUND = float(np.finfo(np.float32).max)


def _clip_bound(value, default: float, label: str, which: str) -> float:
    if value is None:
        return default
    if isinstance(value, _Data):
        raise UnsupportedLayerError(f"{label}: Clip with an input-dependent {which}")
    v = np.asarray(value, dtype=np.float64)
    if v.size != 1:
        raise UnsupportedLayerError(f"{label}: Clip with a {which} of shape {v.shape} (ONNX needs a scalar)")
    x = float(v.reshape(-1)[0])
    if np.isnan(x):
        raise InvalidInputError(f"{label}: Clip with a NaN {which}")
    return x


def _clip(ins: list, a: dict, label: str, builder: ChainBuilder) -> _Data:
    d = ins[0]
    lo = _clip_bound(ins[1] if len(ins) > 1 else a.get("min"), -np.inf, label, "min")
    hi = _clip_bound(ins[2] if len(ins) > 2 else a.get("max"), np.inf, label, "max")
    lo = -np.inf if lo <= -_NO_BOUND else lo
    hi = np.inf if hi >= _NO_BOUND else hi
    if lo >= hi:  # ONNX: min > max sets every value to max (and min = max to that value)
        return _Data(builder.scale_shift(d.expr, 0.0, hi, label), d.rank, d.batch_axis)
    if np.isfinite(lo) and np.isfinite(hi):
        act = HardTanh(lo, hi)
    elif np.isfinite(lo):
        act = ReLU() if lo == 0.0 else PiecewiseLinear([lo], [0.0, 1.0], [lo, 0.0])
    elif np.isfinite(hi):
        act = PiecewiseLinear([hi], [1.0, 0.0], [0.0, hi])
    else:
        return _Data(builder.reshape(d.expr, d.expr.shape, label), d.rank, d.batch_axis)  # no bounds: identity
    return _activate(d, act, label, builder)


def _maxpool(X: _Data, a: dict, label: str, builder: ChainBuilder) -> _Data:
    if X.batch_axis != 0:
        raise UnsupportedLayerError(f"{label}: MaxPool on a tensor whose batch axis is not first")
    k = [int(v) for v in a["kernel_shape"]]
    nd = len(k)
    if nd not in (1, 2) or len(X.expr.shape) != nd + 1:
        raise UnsupportedLayerError(f"{label}: MaxPool with a {nd}-D kernel on a tensor of shape "
                                    f"{X.full_shape()}; 1-D (N, C, L) and 2-D (N, C, H, W) pooling are supported")
    for key, want in (("ceil_mode", 0), ("storage_order", 0)):
        if int(a.get(key, want)) != want:
            raise UnsupportedLayerError(f"{label}: MaxPool with {key}={a[key]} (only {key}={want} is supported)")
    dil = [int(v) for v in a.get("dilations", [1] * nd)]
    if any(v != 1 for v in dil):
        raise UnsupportedLayerError(f"{label}: MaxPool with dilations {dil} (only dilation 1 is supported)")
    stride = [int(v) for v in a.get("strides", [1] * nd)]
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = _same_padding(X.expr.shape[1:], k, stride, dil, auto == "SAME_UPPER")
    elif auto == "VALID":
        pads = [0] * (2 * nd)
    else:
        pads = [int(v) for v in a.get("pads", [0] * (2 * nd))]
    if pads[:nd] != pads[nd:]:
        raise UnsupportedLayerError(f"{label}: MaxPool with asymmetric pads {pads} (begin {pads[:nd]}, end "
                                    f"{pads[nd:]}); only equal padding at both ends of an axis is supported")
    try:
        pool = MaxPool(X.expr.shape, kernel=k, stride=stride, padding=pads[:nd])
    except InvalidInputError as exc:
        raise UnsupportedLayerError(f"{label}: {exc}") from exc
    return _activate(X, pool, label, builder)


def _check_against_onnxruntime(model, input_name: str, dims, net: Network, out: _Data,
                               n_check: int, seed: int, path) -> None:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_check,) + tuple(dims[1:])).astype(np.float32)
    refs = _reference_outputs(model, input_name, dims, X, n_check, seed, path)
    ref = np.concatenate([np.moveaxis(r, out.batch_axis, 0).reshape(r.shape[out.batch_axis], -1)
                          for r in refs], axis=0).astype(np.float64)
    ours = net.forward(X.reshape(n_check, -1).astype(np.float64))
    compare_with_reference(ours, ref, f"onnxruntime on {os.fspath(path)!r}")


def _run_onnxruntime(model, input_name: str, dims, X: np.ndarray, n_check: int) -> list[np.ndarray]:
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover - onnxruntime is a dependency
        raise ImportMismatchError("onnxruntime is needed to check the import (check=False skips it)") from exc
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    if dims[0] is None or dims[0] == 0:
        return [sess.run(None, {input_name: X})[0]]
    return [sess.run(None, {input_name: X[i : i + 1]})[0] for i in range(n_check)]


# -- onnxruntime's outputs on the check inputs, cached per model file ---------------------------
#
# The check itself runs on every import: the converted network's outputs on the seeded random
# inputs are compared with onnxruntime's. What is cached is onnxruntime's side of it (starting
# onnxruntime costs a few tenths of a second, more than converting a small model), keyed by the
# model file's bytes, the check inputs' parameters and the installed onnxruntime's version, so
# a cached reference is the one onnxruntime would compute again. A converter that changes its
# output (a bug, an edit) is still caught. PREIMAGE_CACHE_DIR chooses the folder (default
# ~/.cache/preimage, or $XDG_CACHE_HOME/preimage); PREIMAGE_CACHE_DIR=off disables the cache.

_REFS_FORMAT = b"preimage onnxruntime refs 1"


def _cache_dir() -> str | None:
    env = os.environ.get("PREIMAGE_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in ("", "off", "0", "none") else env
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "preimage")


def _onnxruntime_identity() -> bytes:
    """The installed onnxruntime (its ``__init__.py`` holds the version), without importing it."""
    from importlib.util import find_spec

    spec = find_spec("onnxruntime")
    if spec is None or spec.origin is None:
        return b"none"
    with open(spec.origin, "rb") as fh:
        return spec.origin.encode() + fh.read()


def _refs_path(path, input_name: str, dims, n_check: int, seed: int) -> str | None:
    import hashlib

    folder = _cache_dir()
    if folder is None:
        return None
    h = hashlib.sha256(_REFS_FORMAT)
    with open(os.fspath(path), "rb") as fh:
        h.update(hashlib.sha256(fh.read()).digest())
    h.update(repr((input_name, list(dims), int(n_check), int(seed))).encode())
    h.update(hashlib.sha256(_onnxruntime_identity()).digest())
    return os.path.join(folder, "onnxruntime-refs", h.hexdigest() + ".npy")


def _reference_outputs(model, input_name: str, dims, X: np.ndarray, n_check: int, seed: int,
                       path) -> list[np.ndarray]:
    try:
        cached = _refs_path(path, input_name, dims, n_check, seed)
    except OSError as exc:  # pragma: no cover - an unreadable file was read a moment ago
        log.debug("onnxruntime reference cache unavailable: %s", exc)
        cached = None
    if cached is not None and os.path.exists(cached):
        try:
            stacked = np.load(cached, allow_pickle=False)
            log.debug("onnxruntime outputs for %s read from %s", os.fspath(path), cached)
            return list(stacked)
        except (OSError, ValueError) as exc:  # a damaged entry: compute it again
            log.debug("ignoring unreadable %s: %s", cached, exc)
    refs = _run_onnxruntime(model, input_name, dims, X, n_check)
    if cached is not None:
        try:
            os.makedirs(os.path.dirname(cached), exist_ok=True)
            tmp = f"{cached}.{os.getpid()}.tmp"
            with open(tmp, "wb") as fh:
                np.save(fh, np.stack(refs), allow_pickle=False)
            os.replace(tmp, cached)
        except OSError as exc:  # read-only home, full disk: just no cache
            log.debug("could not cache onnxruntime outputs in %s: %s", cached, exc)
    return refs
