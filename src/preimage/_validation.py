"""One place that converts and checks user inputs.

Every public function funnels its array arguments through these helpers, so that a
bad argument gets the same kind of message everywhere: what argument, what was
expected, what came.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InvalidInputError

__all__ = ["as_float_array", "as_matrix", "as_vector", "as_points", "readonly", "describe", "require_relu",
           "require_relu_layers"]


def describe(value: Any) -> str:
    """A short description of ``value`` for error messages."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if hasattr(value, "shape"):
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"{type(value).__name__} {value!r}"[:200]


def readonly(array: np.ndarray) -> np.ndarray:
    """Mark ``array`` read-only and return it."""
    if array.flags.writeable:
        array.setflags(write=False)
    return array


def as_float_array(name: str, value: Any, *, finite: bool = True) -> np.ndarray:
    """Convert ``value`` to a float64 array (a fresh copy), checking it is finite."""
    if hasattr(value, "toarray") and not isinstance(value, np.ndarray):
        value = value.toarray()
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        array = np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"{name} must be an array of real numbers, got {describe(value)}"
        ) from exc
    if finite and not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))
        where = tuple(int(i) for i in bad[0]) if bad.size else ()
        raise InvalidInputError(
            f"{name} must be finite, but it has {len(bad)} NaN or infinite "
            f"entr{'y' if len(bad) == 1 else 'ies'} (first at index {where}: "
            f"{array[where] if where else array})"
        )
    return array


def as_matrix(
    name: str,
    value: Any,
    *,
    rows: int | None = None,
    cols: int | None = None,
    finite: bool = True,
) -> np.ndarray:
    """Convert to a float64 2-D array of the given shape; ``None`` dimensions are free."""
    array = as_float_array(name, value, finite=finite)
    if array.ndim == 1 and array.size == 0 and cols is not None:
        array = array.reshape(0, cols)
    if array.ndim != 2:
        raise InvalidInputError(f"{name} must be a 2-D matrix, got {describe(array)}")
    if rows is not None and array.shape[0] != rows:
        raise InvalidInputError(
            f"{name} must have {rows} rows, got a matrix of shape {array.shape}"
        )
    if cols is not None and array.shape[1] != cols:
        raise InvalidInputError(
            f"{name} must have {cols} columns, got a matrix of shape {array.shape}"
        )
    return array


def as_vector(
    name: str, value: Any, *, length: int | None = None, finite: bool = True
) -> np.ndarray:
    """Convert to a float64 1-D array of the given length (scalars are not vectors)."""
    array = as_float_array(name, value, finite=finite)
    if array.ndim != 1:
        if array.ndim == 2 and 1 in array.shape:
            array = array.ravel()
        else:
            raise InvalidInputError(f"{name} must be a 1-D vector, got {describe(array)}")
    if length is not None and array.shape[0] != length:
        raise InvalidInputError(
            f"{name} must have length {length}, got length {array.shape[0]}"
        )
    return array


def as_points(name: str, value: Any, dim: int) -> tuple[np.ndarray, bool]:
    """Convert to an ``(n, dim)`` array of points; a single point ``(dim,)`` is allowed.

    Returns the array and whether a single point was given (so callers can unwrap).
    """
    array = np.asarray(value, dtype=np.float64) if not hasattr(value, "detach") else (
        as_float_array(name, value, finite=False)
    )
    single = array.ndim == 1
    if single:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != dim:
        shape = np.shape(value)
        raise InvalidInputError(
            f"{name} must be points of dimension {dim}: an array of shape (n, {dim}) "
            f"or ({dim},), got shape {shape}"
        )
    if not np.all(np.isfinite(array)):
        raise InvalidInputError(f"{name} must be finite, but it contains NaN or infinite values")
    return array, single


def require_relu(activation: Any, what: str, where: str = "the layer") -> None:
    """Refuse an activation other than the ReLU for an algorithm about ReLU layers (the
    papers' one-layer geometry, cone geometry of convolutions): a clear
    :class:`InvalidInputError` naming ``where`` and its activation. ``None`` means a ReLU."""
    from .activations import ReLU

    if activation is None or isinstance(activation, ReLU):
        return
    raise InvalidInputError(
        f"{what} is defined for ReLU layers, y = relu(W x + b), but {where} has activation {activation!r}"
    )


def require_relu_layers(net: Any, what: str, upto: int | None = None, *, identity: bool = True) -> None:
    """Refuse a network with a layer (among ``1..upto``, default all) whose activation is
    neither a ReLU nor (``identity=True``) the identity, naming the first such layer."""
    layers = net.layers if upto is None else net.layers[:upto]
    for k, lay in enumerate(layers, start=1):
        if lay.relu or (identity and not lay.has_activation):
            continue
        name = f" ({lay.name})" if lay.name else ""
        allowed = "a ReLU or no activation" if identity else "a ReLU"
        raise InvalidInputError(
            f"{what} is defined for ReLU networks (every layer with {allowed}), but layer {k}{name} has "
            f"activation {lay.activation!r}"
        )
