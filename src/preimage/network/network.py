"""The network model: a chain of affine layers ``z_k = W_k h_{k-1} + b_k``, each followed
by a piecewise-linear activation ``h_k = φ_k(z_k)`` (:mod:`preimage.activations`): a ReLU
(``h_k = max(z_k, 0)``, the papers' case), LeakyReLU, HardTanh, MaxPool, or the identity
(``h_k = z_k``, e.g. the logits).

Layer 0 is the input ``h_0 = x``; layer ``k`` is the output of the ``k``-th affine layer
after its activation. Weights are float64, dense (``numpy``) or sparse (``scipy.sparse``
CSR, for convolutions), and read-only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import as_float_array, as_points, as_vector, describe, readonly
from ..activations import Activation, Identity, ReLU, from_spec
from ..errors import InvalidInputError
from .convolution import ConvInfo

__all__ = ["AffineLayer", "Network"]


def _is_sparse(W: Any) -> bool:
    return hasattr(W, "tocsr") and not isinstance(W, np.ndarray)


def _as_weight(name: str, W: Any):
    """A read-only float64 dense matrix, or a CSR sparse matrix with finite entries."""
    if _is_sparse(W):
        import scipy.sparse as sp

        W = sp.csr_array(W, dtype=np.float64)
        if not np.all(np.isfinite(W.data)):
            raise InvalidInputError(f"{name} must be finite, but it has NaN or infinite entries")
        if W.ndim != 2:
            raise InvalidInputError(f"{name} must be a 2-D matrix, got {describe(W)}")
        W.data.setflags(write=False)
        return W
    arr = as_float_array(name, W)
    if arr.ndim != 2:
        raise InvalidInputError(f"{name} must be a 2-D matrix, got {describe(arr)}")
    return readonly(np.ascontiguousarray(arr))


@dataclass(frozen=True, slots=True, eq=False)
class AffineLayer:
    """One affine layer ``z = W h + b`` followed by an activation (ReLU unless told otherwise).

    ``activation`` is any :class:`~preimage.activations.Activation`; ``relu=False`` (without an
    activation) means the identity. ``name`` records where it came from (e.g. the ONNX nodes
    fused into it); ``conv`` is set when the layer is exactly one convolution (kernel, strides,
    shapes). ``out_dim`` is the width after the activation (a MaxPool shrinks it), ``pre_dim``
    the number of rows of ``W``.
    """

    weight: Any
    bias: np.ndarray
    activation: Activation
    name: str = ""
    conv: ConvInfo | None = None
    in_shape: tuple[int, ...] = ()
    out_shape: tuple[int, ...] = ()
    pre_shape: tuple[int, ...] = ()

    def __init__(self, weight, bias, relu: bool = True, name: str = "", conv: ConvInfo | None = None,
                 in_shape: Sequence[int] | None = None, out_shape: Sequence[int] | None = None, *,
                 activation: Activation | None = None, pre_shape: Sequence[int] | None = None) -> None:
        label = f"weight of layer {name!r}" if name else "weight"
        W = _as_weight(label, weight)
        b = as_vector(f"bias of layer {name!r}" if name else "bias", bias)
        if b.shape[0] != W.shape[0]:
            raise InvalidInputError(
                f"bias{' of layer ' + repr(name) if name else ''} must have length {W.shape[0]} "
                f"(the rows of its weight), got length {b.shape[0]}"
            )
        if activation is None:
            if not isinstance(relu, (bool, np.bool_)):
                raise InvalidInputError(f"relu must be True or False, got {relu!r}")
            activation = ReLU() if relu else Identity()
        elif not isinstance(activation, Activation):
            raise InvalidInputError(f"activation must be a preimage.activations.Activation, got {describe(activation)}")
        n_pre = int(W.shape[0])
        n_out = activation.out_dim(n_pre)  # checks the activation fits the rows
        pre = tuple(pre_shape) if pre_shape else (tuple(out_shape) if out_shape and n_out == n_pre else (n_pre,))
        fixed = getattr(activation, "in_shape", None)  # an activation laid out on a shape (MaxPool)
        if fixed is not None:
            if not pre_shape:
                pre = tuple(fixed)
            elif tuple(pre) != tuple(fixed):
                raise InvalidInputError(
                    f"layer{' ' + repr(name) if name else ''}: its {activation!r} takes pre-activations of shape "
                    f"{tuple(fixed)}, but the layer's pre-activation has shape {tuple(pre)}")
        if out_shape:
            out = tuple(out_shape)
        elif n_out == n_pre:
            out = pre
        else:
            out = tuple(activation.out_shape(pre))
        object.__setattr__(self, "weight", W)
        object.__setattr__(self, "bias", readonly(b))
        object.__setattr__(self, "activation", activation)
        object.__setattr__(self, "name", str(name))
        object.__setattr__(self, "conv", conv)
        object.__setattr__(self, "in_shape", tuple(in_shape) if in_shape else (int(W.shape[1]),))
        object.__setattr__(self, "out_shape", out)
        object.__setattr__(self, "pre_shape", pre)

    @property
    def relu(self) -> bool:
        """True when the activation is a ReLU."""
        return isinstance(self.activation, ReLU)

    @property
    def has_activation(self) -> bool:
        """True unless the activation is the identity (the layer then has units with branches)."""
        return not self.activation.is_identity

    @property
    def in_dim(self) -> int:
        return int(self.weight.shape[1])

    @property
    def pre_dim(self) -> int:
        """Width of the pre-activation ``z`` (rows of ``W``)."""
        return int(self.weight.shape[0])

    @property
    def out_dim(self) -> int:
        """Width of the output ``h`` (after the activation)."""
        return int(self.activation.out_dim(int(self.weight.shape[0])))

    @property
    def is_sparse(self) -> bool:
        return _is_sparse(self.weight)

    @property
    def dense_weight(self) -> np.ndarray:
        """The weight as a dense (read-only) array."""
        if self.is_sparse:
            return readonly(self.weight.toarray())
        return self.weight

    def pre_activation(self, H: np.ndarray) -> np.ndarray:
        """``Z = H Wᵀ + b`` for a batch ``H`` of shape ``(N, in_dim)``."""
        if self.is_sparse:
            return np.asarray((self.weight @ H.T).T) + self.bias
        return H @ self.weight.T + self.bias

    def __call__(self, H: np.ndarray) -> np.ndarray:
        return self.activation.evaluate(self.pre_activation(H))

    def __repr__(self) -> str:
        kind = "conv" if self.conv is not None else ("sparse" if self.is_sparse else "dense")
        return (f"AffineLayer({self.in_dim} -> {self.out_dim}, {kind}, {self.activation!r}"
                + (f", name={self.name!r}" if self.name else "") + ")")


@dataclass(frozen=True, slots=True, eq=False)
class Network:
    """A feed-forward chain of :class:`AffineLayer` (the papers' rectifier network).

    Examples
    --------
    >>> net = Network.from_arrays([
    ...     (np.array([[1.0, -1.0], [1.0, 1.0]]), np.array([0.0, -1.0]), True),
    ...     (np.array([[1.0, 1.0]]), np.array([0.5]), False),
    ... ])
    >>> net.widths, net.num_relus
    ((2, 2, 1), 2)
    >>> net.forward([[2.0, 1.0]]).tolist()
    [[3.5]]
    >>> net.activations([[2.0, 1.0]], layer=1).tolist()
    [[1.0, 2.0]]
    """

    layers: tuple[AffineLayer, ...]
    input_shape: tuple[int, ...] = ()
    name: str = ""
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __init__(self, layers: Sequence[AffineLayer], input_shape: Sequence[int] | None = None,
                 name: str = "") -> None:
        layers = tuple(layers)
        if not layers:
            raise InvalidInputError("a Network needs at least one layer, got none")
        for i, layer in enumerate(layers):
            if not isinstance(layer, AffineLayer):
                raise InvalidInputError(f"layer {i + 1} must be an AffineLayer, got {type(layer).__name__}")
        for i in range(1, len(layers)):
            prev, cur = layers[i - 1], layers[i]
            if cur.in_dim != prev.out_dim:
                raise InvalidInputError(
                    f"layer shapes do not chain: layer {i + 1} takes inputs of width {cur.in_dim}, "
                    f"but layer {i} produces width {prev.out_dim}"
                )
        in_shape = tuple(int(v) for v in input_shape) if input_shape else (layers[0].in_dim,)
        if int(np.prod(in_shape)) != layers[0].in_dim:
            raise InvalidInputError(
                f"input_shape {in_shape} has {int(np.prod(in_shape))} entries, but the first layer "
                f"takes inputs of width {layers[0].in_dim}"
            )
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "input_shape", in_shape)
        object.__setattr__(self, "name", str(name))
        object.__setattr__(self, "_cache", {})

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_arrays(cls, specs, input_shape: Sequence[int] | None = None, name: str = "") -> Network:
        """Build from ``[(W, b, relu), ...]`` (``relu`` may be omitted: it defaults to ``True``
        for every layer but the last; it may also be an :class:`~preimage.activations.Activation`).
        """
        specs = list(specs)
        if not specs:
            raise InvalidInputError("from_arrays needs a non-empty list of (W, b, relu) tuples")
        layers = []
        for i, spec in enumerate(specs):
            if not isinstance(spec, (tuple, list)) or len(spec) not in (2, 3):
                raise InvalidInputError(
                    f"layer {i + 1} must be a tuple (W, b) or (W, b, relu), got {describe(spec)}"
                )
            W, b = spec[0], spec[1]
            act = spec[2] if len(spec) == 3 else i < len(specs) - 1
            if isinstance(act, Activation):
                layers.append(AffineLayer(W, b, name=f"layer {i + 1}", activation=act))
            else:
                layers.append(AffineLayer(W, b, act, name=f"layer {i + 1}"))
        return cls(layers, input_shape, name)

    def fused(self) -> Network:
        """An equal network in which consecutive layers without activation between them are merged."""
        out: list[AffineLayer] = []
        for layer in self.layers:
            if out and not out[-1].has_activation:
                prev = out.pop()
                W = layer.weight @ prev.weight
                if _is_sparse(W) and W.nnz > 0.25 * W.shape[0] * W.shape[1]:
                    W = W.toarray()
                b = layer.pre_activation(prev.bias[None, :])[0]
                out.append(AffineLayer(W, b, name=f"{prev.name} + {layer.name}", in_shape=prev.in_shape,
                                       out_shape=layer.out_shape, pre_shape=layer.pre_shape,
                                       activation=layer.activation))
            else:
                out.append(layer)
        return Network(out, self.input_shape, self.name)

    # -- shape --------------------------------------------------------------------------------
    @property
    def depth(self) -> int:
        """Number of affine layers."""
        return len(self.layers)

    @property
    def input_dim(self) -> int:
        return self.layers[0].in_dim

    @property
    def output_dim(self) -> int:
        return self.layers[-1].out_dim

    @property
    def widths(self) -> tuple[int, ...]:
        """Widths of layers ``0..depth`` (input first)."""
        return (self.input_dim,) + tuple(layer.out_dim for layer in self.layers)

    @property
    def num_relus(self) -> int:
        """Number of units with branches (ReLUs and the units of other activations): the
        length of an activation pattern."""
        return sum(layer.out_dim for layer in self.layers if layer.has_activation)

    @property
    def binary_patterns(self) -> bool:
        """True when every unit has at most two branches (ReLU, LeakyReLU): patterns are then
        boolean (``True`` = branch 1, active); otherwise they are branch indices (``int8``)."""
        return all(lay.activation.max_branches(lay.pre_dim) <= 2 for lay in self.layers if lay.has_activation)

    def _check_layer(self, layer: int, *, allow_input: bool = True) -> int:
        lo = 0 if allow_input else 1
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not lo <= layer <= self.depth:
            raise InvalidInputError(
                f"layer must be an integer between {lo} and {self.depth} (this network has "
                f"{self.depth} affine layers; layer 0 is the input), got {layer!r}"
            )
        return int(layer)

    # -- evaluation ----------------------------------------------------------------------------
    def _inputs(self, X) -> tuple[np.ndarray, bool]:
        if hasattr(X, "detach"):
            X = X.detach().cpu().numpy()
        try:
            arr = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"X must be an array of real numbers, got {describe(X)}") from exc
        if len(self.input_shape) > 1:
            if arr.ndim >= 2 and arr.shape[1:] == self.input_shape:
                arr = arr.reshape(arr.shape[0], -1)
            elif arr.shape == self.input_shape:
                arr = arr.reshape(-1)
        if arr.ndim not in (1, 2) or arr.shape[-1] != self.input_dim:
            shaped = f" or (n, {', '.join(map(str, self.input_shape))})" if len(self.input_shape) > 1 else ""
            raise InvalidInputError(
                f"X must be inputs of width {self.input_dim} (shape (n, {self.input_dim}){shaped}), "
                f"got an array of shape {arr.shape}"
            )
        return as_points("X", arr, self.input_dim)

    def forward(self, X) -> np.ndarray:
        """Network output for a batch ``X`` of shape ``(N, input_dim)`` (or one input)."""
        return self.activations(X, layer=self.depth)

    __call__ = forward

    def activations(self, X, layer: int) -> np.ndarray:
        """``h_layer`` for each input (layer 0 is the input itself)."""
        k = self._check_layer(layer)
        H, single = self._inputs(X)
        for lay in self.layers[:k]:
            H = lay(H)
        return H[0] if single else H

    def pre_activations(self, X, layer: int) -> np.ndarray:
        """``z_layer = W_layer h_{layer-1} + b_layer`` for each input (``layer >= 1``)."""
        k = self._check_layer(layer, allow_input=False)
        H, single = self._inputs(X)
        for lay in self.layers[: k - 1]:
            H = lay(H)
        Z = self.layers[k - 1].pre_activation(H)
        return Z[0] if single else Z

    def activation_pattern(self, X, *, layers: Sequence[int] | None = None) -> np.ndarray:
        """The activation pattern, one row per input: the branch of every unit, layer after
        layer (for ReLU networks the boolean ``z > 0``; see :attr:`binary_patterns`)."""
        H, single = self._inputs(X)
        chosen = set(
            range(1, self.depth + 1) if layers is None else [self._check_layer(k, allow_input=False) for k in layers]
        )
        parts = []
        for k, lay in enumerate(self.layers, start=1):
            Z = lay.pre_activation(H)
            if lay.has_activation and k in chosen:
                parts.append(lay.activation.branches(Z))
            H = lay.activation.evaluate(Z)
        dtype = bool if self.binary_patterns else np.int8
        P = np.hstack(parts).astype(dtype) if parts else np.zeros((H.shape[0], 0), dtype=dtype)
        return P[0] if single else P

    # -- description -----------------------------------------------------------------------------
    def summary(self) -> list[dict]:
        """One dictionary per layer: index, kind, shapes, ReLU, parameter count."""
        rows = [{"layer": 0, "kind": "input", "shape": list(self.input_shape), "width": self.input_dim}]
        for k, lay in enumerate(self.layers, start=1):
            kind = "conv" if lay.conv is not None else ("sparse" if lay.is_sparse else "dense")
            nnz = int(lay.weight.nnz) if lay.is_sparse else int(np.count_nonzero(lay.weight))
            rows.append({
                "layer": k, "kind": kind, "shape": list(lay.out_shape), "width": lay.out_dim,
                "relu": lay.relu, "activation": lay.activation.spec(), "nonzero_weights": nnz, "source": lay.name,
            })
        return rows

    def __repr__(self) -> str:
        arch = " -> ".join(str(w) for w in self.widths)
        return f"Network({arch}, relus={self.num_relus}{', name=' + repr(self.name) if self.name else ''})"

    # -- persistence --------------------------------------------------------------------------------
    def save(self, path) -> None:
        """Save as ``.npz`` (dense weights) for :meth:`load_npz`."""
        arrays: dict[str, Any] = {"format": np.array("preimage.Network"), "version": np.array(1),
                                  "input_shape": np.array(self.input_shape), "depth": np.array(self.depth)}
        for k, lay in enumerate(self.layers):
            arrays[f"W{k}"] = lay.dense_weight
            arrays[f"b{k}"] = lay.bias
            arrays[f"relu{k}"] = np.array(lay.relu)
            arrays[f"activation{k}"] = np.array(json.dumps(lay.activation.spec()))
        np.savez_compressed(path, **arrays)

    @classmethod
    def load_npz(cls, path) -> Network:
        import zipfile

        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["format"]) != "preimage.Network":
                    raise InvalidInputError(f"{path!r} is not a saved preimage Network")
                depth = int(z["depth"])
                # files before activations were a protocol have relu{k} only
                specs = [(z[f"W{k}"], z[f"b{k}"],
                          from_spec(json.loads(str(z[f"activation{k}"]))) if f"activation{k}" in z
                          else bool(z[f"relu{k}"])) for k in range(depth)]
                shape = tuple(int(v) for v in z["input_shape"])
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise InvalidInputError(f"{path!r} is not a saved preimage Network: {exc}") from exc
        return cls.from_arrays(specs, input_shape=shape)
