"""Convolutions and average pooling as sparse linear operators on flattened tensors.

Tensors are flattened in C order over ``(channels, *spatial)`` — the order of
``torch.flatten`` and ONNX ``Flatten`` — so a convolution becomes a sparse matrix
``(C_out·∏out) × (C_in·∏in)`` acting on the flat vector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError, UnsupportedLayerError

__all__ = ["ConvInfo", "conv_matrix", "avgpool_matrix", "conv_output_shape"]


@dataclass(frozen=True, slots=True, eq=False)
class ConvInfo:
    """What a layer that is exactly one convolution looks like before flattening.

    ``kernel`` has shape ``(C_out, C_in/groups, *k)``; ``bias`` one entry per output
    channel; ``padding`` is ``((begin, end), ...)`` per spatial axis.
    """

    kernel: np.ndarray
    bias: np.ndarray
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]
    groups: int = 1

    @property
    def spatial_dims(self) -> int:
        return len(self.in_shape) - 1


def _tuple(name: str, value, nd: int) -> tuple[int, ...]:
    if np.isscalar(value):
        return (int(value),) * nd
    out = tuple(int(v) for v in value)
    if len(out) != nd:
        raise InvalidInputError(f"{name} must have {nd} entries (one per spatial axis), got {out}")
    return out


def _padding(value, nd: int) -> tuple[tuple[int, int], ...]:
    """Accept an int, per-axis ints, per-axis ``(begin, end)`` pairs, or ONNX-style
    ``[b1, b2, ..., e1, e2, ...]``."""
    if np.isscalar(value):
        p = int(value)
        return ((p, p),) * nd
    if len(value) == nd and all(np.ndim(v) == 1 and len(v) == 2 for v in value):
        return tuple((int(v[0]), int(v[1])) for v in value)
    vals = [int(v) for v in value]
    if len(vals) == nd:
        return tuple((v, v) for v in vals)
    if len(vals) == 2 * nd:
        return tuple((vals[i], vals[i + nd]) for i in range(nd))
    raise InvalidInputError(f"padding must have {nd} or {2 * nd} entries, got {vals}")


def conv_output_shape(in_spatial, k, stride, padding, dilation) -> tuple[int, ...]:
    out = []
    for n, kk, s, (pb, pe), dl in zip(in_spatial, k, stride, padding, dilation):
        span = dl * (kk - 1) + 1
        size = (n + pb + pe - span) // s + 1
        if size < 1:
            raise InvalidInputError(
                f"the convolution kernel (extent {span}) does not fit the padded input of size {n + pb + pe}"
            )
        out.append(int(size))
    return tuple(out)


def conv_matrix(
    kernel,
    in_shape,
    *,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
    bias=None,
):
    """The convolution (cross-correlation, as in PyTorch/ONNX) as a sparse matrix.

    Parameters
    ----------
    kernel : (C_out, C_in/groups, *k) array
    in_shape : (C_in, *spatial) — the per-sample input shape
    stride, padding, dilation : ints or per-axis values; padding may also be ONNX-style
        ``[begins..., ends...]``.

    Returns
    -------
    (matrix, info) : a ``scipy.sparse.csr_array`` and the :class:`ConvInfo`.

    Examples
    --------
    >>> K = np.array([[[1.0, -1.0]]])               # one 1-D edge filter
    >>> W, info = conv_matrix(K, (1, 4))
    >>> W.toarray().tolist(), info.out_shape
    ([[1.0, -1.0, 0.0, 0.0], [0.0, 1.0, -1.0, 0.0], [0.0, 0.0, 1.0, -1.0]], (1, 3))
    """
    import scipy.sparse as sp

    K = np.asarray(kernel, dtype=np.float64)
    in_shape = tuple(int(v) for v in in_shape)
    nd = K.ndim - 2
    if nd not in (1, 2, 3) or len(in_shape) != nd + 1:
        raise InvalidInputError(
            f"kernel of shape {K.shape} needs an input shape (C_in, *spatial) with {max(nd, 0)} "
            f"spatial axes, got {in_shape}"
        )
    c_out, c_in_g = K.shape[:2]
    c_in = in_shape[0]
    if groups < 1 or c_in != c_in_g * groups or c_out % groups:
        raise InvalidInputError(
            f"in_channels (={c_in}) must equal kernel channels (={c_in_g}) times groups (={groups}), "
            f"and out_channels (={c_out}) must be divisible by groups"
        )
    ks = K.shape[2:]
    stride_t = _tuple("stride", stride, nd)
    dil_t = _tuple("dilation", dilation, nd)
    pad_t = _padding(padding, nd)
    spatial = in_shape[1:]
    out_sp = conv_output_shape(spatial, ks, stride_t, pad_t, dil_t)
    # index grids: (c_out, c_in_g, *out, *k)
    oc = np.arange(c_out).reshape((c_out, 1) + (1,) * (2 * nd))
    ic = np.arange(c_in_g).reshape((1, c_in_g) + (1,) * (2 * nd))
    in_c = (oc // (c_out // groups)) * c_in_g + ic
    valid = np.ones((1,) * (2 + 2 * nd), dtype=bool)
    out_flat = np.zeros((1,) * (2 + 2 * nd), dtype=np.int64)
    in_flat = np.zeros((1,) * (2 + 2 * nd), dtype=np.int64)
    for ax in range(nd):
        o = np.arange(out_sp[ax]).reshape((1, 1) + tuple(-1 if j == ax else 1 for j in range(nd)) + (1,) * nd)
        k = np.arange(ks[ax]).reshape((1, 1) + (1,) * nd + tuple(-1 if j == ax else 1 for j in range(nd)))
        pos = o * stride_t[ax] - pad_t[ax][0] + k * dil_t[ax]
        valid = valid & (pos >= 0) & (pos < spatial[ax])
        out_flat = out_flat * out_sp[ax] + o
        in_flat = in_flat * spatial[ax] + np.clip(pos, 0, spatial[ax] - 1)
    shape = (c_out, c_in_g) + out_sp + tuple(ks)
    rows = np.broadcast_to(oc * int(np.prod(out_sp)) + out_flat, shape)
    cols = np.broadcast_to(in_c * int(np.prod(spatial)) + in_flat, shape)
    vals = np.broadcast_to(K.reshape((c_out, c_in_g) + (1,) * nd + tuple(ks)), shape)
    mask = np.broadcast_to(valid, shape) & (vals != 0)
    n_out = c_out * int(np.prod(out_sp))
    n_in = c_in * int(np.prod(spatial))
    W = sp.csr_array((vals[mask], (rows[mask], cols[mask])), shape=(n_out, n_in))
    W.sum_duplicates()
    b = np.zeros(c_out) if bias is None else np.asarray(bias, dtype=np.float64).reshape(-1)
    info = ConvInfo(
        kernel=K.copy(),
        bias=b.copy(),
        in_shape=in_shape,
        out_shape=(c_out,) + out_sp,
        stride=stride_t,
        padding=pad_t,
        dilation=dil_t,
        groups=int(groups),
    )
    return W, info


def avgpool_matrix(in_shape, kernel_size, *, stride=None, padding=0, count_include_pad: bool = True):
    """Average pooling as a sparse matrix; returns ``(matrix, out_shape)``.

    ``count_include_pad`` follows PyTorch's default (``True``); ONNX's default is ``False``.
    """
    import scipy.sparse as sp

    in_shape = tuple(int(v) for v in in_shape)
    nd = len(in_shape) - 1
    if nd < 1:
        raise InvalidInputError(f"average pooling needs (C, *spatial) input, got {in_shape}")
    ks = _tuple("kernel_size", kernel_size, nd)
    st = ks if stride is None else _tuple("stride", stride, nd)
    pad = _padding(padding, nd)
    spatial = in_shape[1:]
    out_sp = conv_output_shape(spatial, ks, st, pad, (1,) * nd)
    rows_l, cols_l, vals_l = [], [], []
    C = in_shape[0]
    grids = np.meshgrid(*[np.arange(o) for o in out_sp], indexing="ij")
    out_pos = np.stack([g.ravel() for g in grids], axis=1)  # (P, nd)
    koffs = np.stack([g.ravel() for g in np.meshgrid(*[np.arange(k) for k in ks], indexing="ij")], axis=1)
    for p_idx, opos in enumerate(out_pos):
        pos = opos * np.array(st) - np.array([p[0] for p in pad]) + koffs  # (K, nd)
        ok = np.all((pos >= 0) & (pos < np.array(spatial)), axis=1)
        if count_include_pad:
            # PyTorch divides by the window clipped to the padded input
            hi = np.minimum(opos * np.array(st) - np.array([p[0] for p in pad]) + np.array(ks),
                            np.array(spatial) + np.array([p[1] for p in pad]))
            lo = opos * np.array(st) - np.array([p[0] for p in pad])
            divisor = float(np.prod(hi - lo))
        else:
            divisor = float(ok.sum())
        if divisor <= 0:
            raise InvalidInputError("average pooling window covers no input element")
        flat = np.ravel_multi_index(pos[ok].T, spatial)
        rows_l.append(np.full(flat.size, p_idx))
        cols_l.append(flat)
        vals_l.append(np.full(flat.size, 1.0 / divisor))
    r = np.concatenate(rows_l)
    c = np.concatenate(cols_l)
    v = np.concatenate(vals_l)
    P = int(np.prod(out_sp))
    S = int(np.prod(spatial))
    R = np.concatenate([r + ch * P for ch in range(C)])
    Cc = np.concatenate([c + ch * S for ch in range(C)])
    V = np.tile(v, C)
    W = sp.csr_array((V, (R, Cc)), shape=(C * P, C * S))
    return W, (C,) + out_sp


def check_supported_padding_mode(mode: str) -> None:
    if mode != "zeros":
        raise UnsupportedLayerError(f"padding_mode={mode!r} is not supported (only 'zeros')")
