"""Turning a sequence of tensor operations into a chain of affine layers.

Importers (PyTorch, ONNX) walk a model and describe every tensor that depends on the
input as a :class:`LinearExpr`: an affine function ``M h + c`` of the output ``h`` of the
last layer closed (or of the input). Linear operations compose into the expression; an
activation (ReLU, LeakyReLU, HardTanh, MaxPool, ...: :mod:`preimage.activations`) closes a
layer and becomes that layer's activation. Consecutive affine operations are therefore fused
automatically (``MatMul`` + ``Add``, ``Conv`` + ``BatchNormalization``, ...); an activation
with no affine operation before it (two activations in a row, or one on the input) gets an
identity affine layer (``W = I``, ``b = 0``), so the chain stays affine → activation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .. import tolerances
from ..activations import Activation, Identity, ReLU
from ..errors import ImportMismatchError, InvalidInputError, UnsupportedLayerError
from .convolution import ConvInfo
from .network import AffineLayer, Network

__all__ = ["LinearExpr", "ChainBuilder", "compare_with_reference"]

log = logging.getLogger(__name__)

#: Sparse weights denser than this are stored dense.
_DENSE_FRACTION = 0.25
#: a scaled identity on at most this many entries is kept dense (same numbers as sparse: one
#: nonzero per row), larger ones sparse
_DENSE_DIAGONAL_MAX = 256


def _is_sparse(W: Any) -> bool:
    return hasattr(W, "tocsr") and not isinstance(W, np.ndarray)


def _compose(op, M):
    """``op @ M`` where ``M is None`` means the identity; keeps sparsity when both are sparse."""
    if M is None:
        return op
    out = op @ M
    if _is_sparse(out) and out.nnz > _DENSE_FRACTION * out.shape[0] * out.shape[1]:
        out = out.toarray()
    return out


def _apply(op, c: np.ndarray) -> np.ndarray:
    return np.asarray(op @ c, dtype=np.float64).reshape(-1)


@dataclass(frozen=True)
class LinearExpr:
    """A tensor equal to ``M h_base + c`` (flattened in C order), with per-sample ``shape``.

    ``M is None`` stands for the identity. ``conv`` is kept while the expression is exactly
    one convolution followed by per-channel affine operations (bias, batch-norm).
    """

    base: int
    shape: tuple[int, ...]
    M: Any
    c: np.ndarray
    conv: ConvInfo | None = None
    ops: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1


class ChainBuilder:
    """Collects affine layers while an importer walks a model."""

    def __init__(self, input_shape: tuple[int, ...]) -> None:
        self.input_shape = tuple(int(v) for v in input_shape)
        self.layers: list[AffineLayer] = []

    def input(self) -> LinearExpr:
        size = int(np.prod(self.input_shape))
        return LinearExpr(0, self.input_shape, None, np.zeros(size))

    def _check_base(self, expr: LinearExpr, what: str) -> None:
        if expr.base != len(self.layers):
            raise UnsupportedLayerError(
                f"{what} uses a tensor computed before the most recent activation layer (a skip or "
                f"residual connection); only chains of layers are supported"
            )

    def linear(self, expr: LinearExpr, op, bias, out_shape, name: str,
               conv: ConvInfo | None = None) -> LinearExpr:
        """Compose ``op`` (``out × in`` matrix) and ``bias`` after ``expr``."""
        out_shape = tuple(int(v) for v in out_shape)
        size = int(np.prod(out_shape))
        if op.shape != (size, expr.size):
            raise InvalidInputError(
                f"{name}: operator of shape {op.shape} does not map the tensor of shape {expr.shape} "
                f"to shape {out_shape}"
            )
        b = np.zeros(size) if bias is None else np.broadcast_to(np.asarray(bias, dtype=np.float64), (size,))
        fresh = expr.M is None and not np.any(expr.c)
        new_conv = conv if (conv is not None and fresh) else None
        return LinearExpr(
            expr.base, out_shape, _compose(op, expr.M), _apply(op, expr.c) + b,
            new_conv, expr.ops + (name,),
        )

    def reshape(self, expr: LinearExpr, out_shape, name: str) -> LinearExpr:
        out_shape = tuple(int(v) for v in out_shape)
        if int(np.prod(out_shape)) != expr.size:
            raise InvalidInputError(f"{name}: cannot reshape {expr.shape} to {out_shape}")
        # a flat reshape changes nothing in the flattened representation; the conv
        # description survives (it describes the same numbers)
        return replace(expr, shape=out_shape, ops=expr.ops + (name,))

    def scale_shift(self, expr: LinearExpr, scale, shift, name: str) -> LinearExpr:
        """Elementwise ``scale * t + shift`` (arrays broadcast to the tensor's shape)."""
        s = np.broadcast_to(np.asarray(scale, dtype=np.float64), expr.shape).reshape(-1)
        t = np.broadcast_to(np.asarray(shift, dtype=np.float64), expr.shape).reshape(-1)
        if expr.M is None and expr.size <= _DENSE_DIAGONAL_MAX:
            M = np.diag(s)  # small: dense, and scipy.sparse is not imported (start-up)
        elif isinstance(expr.M, np.ndarray):
            M = s[:, None] * expr.M
        else:
            import scipy.sparse as sp

            D = sp.diags_array(s, format="csr")
            M = D if expr.M is None else D @ expr.M
        conv = expr.conv
        if conv is not None:
            conv = _rescale_conv(conv, s, t, expr.c * s + t)
        return LinearExpr(expr.base, expr.shape, M, expr.c * s + t, conv, expr.ops + (name,))

    def relu(self, expr: LinearExpr, name: str) -> LinearExpr:
        """Close a layer: ``h = relu(expr)``."""
        return self.activate(expr, ReLU(), name)

    def activate(self, expr: LinearExpr, activation: Activation, name: str) -> LinearExpr:
        """Close a layer: ``h = activation(expr)`` (an identity affine layer when ``expr`` is
        the output of the previous layer as it is, or the input)."""
        self._check_base(expr, name)
        if activation.is_identity:
            return replace(expr, ops=expr.ops + (name,))
        fresh = expr.M is None and not np.any(expr.c)
        if fresh and self.layers and expr.base == len(self.layers) and isinstance(activation, ReLU) \
                and self.layers[-1].relu:
            return replace(expr, ops=expr.ops + (name,))  # relu(relu(x)) = relu(x)
        layer = self._close(expr, activation, name=name)
        return LinearExpr(len(self.layers), layer.out_shape, None, np.zeros(layer.out_dim))

    def _close(self, expr: LinearExpr, activation: Activation, name: str) -> AffineLayer:
        W = expr.M
        if W is None:
            import scipy.sparse as sp

            W = sp.eye_array(expr.size, format="csr")
        in_shape = self.input_shape if expr.base == 0 else self.layers[expr.base - 1].out_shape
        ops = " + ".join(expr.ops + (name,)) if name else " + ".join(expr.ops)
        pre_shape = tuple(expr.shape) or (expr.size,)
        out_shape = activation.out_shape(pre_shape)
        layer = AffineLayer(W, expr.c, name=ops, conv=expr.conv, in_shape=in_shape, out_shape=out_shape,
                            pre_shape=pre_shape, activation=activation)
        self.layers.append(layer)
        return layer

    def finish(self, expr: LinearExpr, name: str = "") -> Network:
        """The network whose output is ``expr``."""
        self._check_base(expr, "the output")
        if not (expr.M is None and not np.any(expr.c) and self.layers):
            self._close(expr, Identity(), name="")
        return Network(self.layers, self.input_shape, name)


def _rescale_conv(conv: ConvInfo, s: np.ndarray, t: np.ndarray, new_c: np.ndarray) -> ConvInfo | None:
    """Fold a per-channel affine map into a convolution's description (else drop it)."""
    c_out = conv.out_shape[0]
    per = int(np.prod(conv.out_shape[1:]))
    S = s.reshape(c_out, per)
    C = new_c.reshape(c_out, per)
    if not (np.all(S == S[:, :1]) and np.all(C == C[:, :1])):
        return None
    scale = S[:, 0]
    kernel = conv.kernel * scale.reshape((c_out,) + (1,) * (conv.kernel.ndim - 1))
    return replace(conv, kernel=kernel, bias=C[:, 0].copy())


def compare_with_reference(ours: np.ndarray, ref: np.ndarray, what: str) -> None:
    """Refuse an import whose outputs differ from the source model's (``ref``)."""
    if ours.shape != ref.shape:
        raise ImportMismatchError(f"the imported network produces outputs of shape {ours.shape}, "
                                  f"{what} produces {ref.shape}")
    scale = np.abs(ref).max(axis=1, keepdims=True)
    allowed = tolerances.IMPORT_ABSOLUTE + tolerances.IMPORT_RELATIVE * scale
    excess = np.abs(ours - ref) / allowed
    worst = float(excess.max(initial=0.0))
    if not np.all(np.isfinite(ours)) or worst > 1.0:
        i, j = np.unravel_index(int(np.argmax(excess)), excess.shape)
        raise ImportMismatchError(
            f"the imported network disagrees with {what}: output {j} of check input {i} is "
            f"{ours[i, j]:.6g} here and {ref[i, j]:.6g} there (allowed difference {allowed[i, 0]:.3g}); "
            f"the model uses an operation whose semantics were not reproduced"
        )
    log.info("import checked against %s: largest difference %.3g of the allowed", what, worst)
