"""Import PyTorch ``nn.Sequential`` models as :class:`~preimage.network.Network`.

Supported modules: Linear, Conv1d, Conv2d, Flatten, BatchNorm1d, BatchNorm2d (eval),
AvgPool1d, AvgPool2d, Identity, Dropout (eval), and nested ``nn.Sequential``; activations
(:mod:`preimage.activations`): ReLU, LeakyReLU, PReLU with one slope, Hardtanh, ReLU6,
MaxPool1d and MaxPool2d (dilation 1, ``ceil_mode=False``, no indices). An activation after
affine modules becomes their layer's activation; one with no affine module before it (two
activations in a row, or one on the input) gets an identity affine layer. Only modules are
converted (the walk does not trace functional calls such as ``F.relu`` inside a custom
``forward``). The result is checked against the module's own forward pass on random inputs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..activations import HardTanh, LeakyReLU, MaxPool
from ..errors import InvalidInputError, UnsupportedLayerError
from .builder import ChainBuilder, LinearExpr, compare_with_reference
from .convolution import avgpool_matrix, check_supported_padding_mode, conv_matrix
from .network import Network

__all__ = ["from_torch", "SUPPORTED_MODULES"]

log = logging.getLogger(__name__)

SUPPORTED_MODULES = (
    "Linear", "Conv1d", "Conv2d", "ReLU", "LeakyReLU", "PReLU", "Hardtanh", "ReLU6", "MaxPool1d", "MaxPool2d",
    "Flatten", "BatchNorm1d", "BatchNorm2d", "AvgPool1d", "AvgPool2d", "Identity", "Dropout", "Sequential",
)


def _np(t) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def _walk(module, prefix: str = ""):
    """Leaf modules of nested Sequentials, with dotted names ("0", "features.3", ...)."""
    import torch.nn as nn

    if isinstance(module, nn.Sequential):
        for name, child in module.named_children():
            yield from _walk(child, f"{prefix}.{name}" if prefix else name)
    else:
        yield prefix or type(module).__name__, module


def from_torch(module, input_shape: Sequence[int], *, check: bool = True, n_check: int = 32,
               seed: int = 0, name: str = "") -> Network:
    """Convert a PyTorch ``nn.Sequential`` (or a single supported module) to a :class:`Network`.

    Parameters
    ----------
    module : ``torch.nn.Module`` — a Sequential of supported modules, in eval mode.
    input_shape : per-sample input shape, e.g. ``(5,)`` or ``(1, 8, 8)``.
    check : compare with ``module(x)`` on ``n_check`` random inputs (seeded by ``seed``).
    """
    from .._optional import require

    torch = require("torch", "from_torch")
    nn = require("torch.nn", "from_torch")
    if not isinstance(module, nn.Module):
        raise InvalidInputError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    try:
        shape = tuple(int(v) for v in input_shape)
    except TypeError as exc:
        raise InvalidInputError(f"input_shape must be a sequence of ints, got {input_shape!r}") from exc
    if not shape or any(v <= 0 for v in shape):
        raise InvalidInputError(f"input_shape must be positive sizes, e.g. (5,) or (1, 8, 8), got {shape}")
    builder = ChainBuilder(shape)
    expr = builder.input()
    for label, mod in _walk(module):
        expr = _convert(label, mod, expr, builder, nn)
    net = builder.finish(expr, name=name or type(module).__name__)
    if check:
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((n_check,) + shape)
        with torch.no_grad():
            ref = module(torch.as_tensor(X, dtype=next((p.dtype for p in module.parameters()), torch.float32)))
        ref_np = ref.detach().cpu().double().numpy().reshape(n_check, -1)
        compare_with_reference(net.forward(X.reshape(n_check, -1)), ref_np, "the PyTorch module's forward pass")
    return net


def _convert(label: str, mod: Any, expr: LinearExpr, builder: ChainBuilder, nn) -> LinearExpr:
    kind = type(mod).__name__
    if isinstance(mod, (nn.Identity,)):
        return expr
    if isinstance(mod, nn.Dropout):
        if mod.training and mod.p > 0:
            raise InvalidInputError(f"module {label!r} (Dropout) is in training mode; call model.eval() first")
        return expr
    if isinstance(mod, nn.ReLU):
        return builder.relu(expr, f"{label} (ReLU)")
    if isinstance(mod, nn.LeakyReLU):
        return builder.activate(expr, LeakyReLU(float(mod.negative_slope)), f"{label} (LeakyReLU)")
    if isinstance(mod, nn.PReLU):
        slope = _np(mod.weight).reshape(-1)
        if not np.all(slope == slope[0]):
            raise UnsupportedLayerError(
                f"module {label!r} (PReLU) has {slope.size} different slopes (from {slope.min():.6g} to "
                f"{slope.max():.6g}); only one slope shared by every unit (a LeakyReLU) is supported")
        return builder.activate(expr, LeakyReLU(float(slope[0])), f"{label} (PReLU)")
    if isinstance(mod, nn.Hardtanh):  # ReLU6 is a Hardtanh(0, 6)
        try:
            act = HardTanh(float(mod.min_val), float(mod.max_val))
        except InvalidInputError as exc:
            raise InvalidInputError(f"module {label!r} ({kind}): {exc}") from exc
        return builder.activate(expr, act, f"{label} ({kind})")
    if isinstance(mod, (nn.MaxPool1d, nn.MaxPool2d)):
        return builder.activate(expr, _maxpool(label, kind, mod, expr, nn), f"{label} ({kind})")
    if isinstance(mod, nn.Flatten):
        if mod.start_dim not in (1, -len(expr.shape) - 1) or mod.end_dim != -1:
            raise UnsupportedLayerError(
                f"module {label!r} (Flatten) with start_dim={mod.start_dim}, end_dim={mod.end_dim}; "
                "only Flatten(start_dim=1, end_dim=-1) is supported"
            )
        return builder.reshape(expr, (expr.size,), f"{label} (Flatten)")
    if isinstance(mod, nn.Linear):
        if expr.shape != (mod.in_features,):
            raise InvalidInputError(
                f"module {label!r} (Linear) expects inputs of width {mod.in_features}, "
                f"but the tensor reaching it has shape {expr.shape}"
            )
        b = None if mod.bias is None else _np(mod.bias)
        return builder.linear(expr, _np(mod.weight), b, (mod.out_features,), f"{label} (Linear)")
    if isinstance(mod, (nn.Conv1d, nn.Conv2d)):
        check_supported_padding_mode(mod.padding_mode)
        nd = 1 if isinstance(mod, nn.Conv1d) else 2
        if len(expr.shape) != nd + 1 or expr.shape[0] != mod.in_channels:
            raise InvalidInputError(
                f"module {label!r} ({kind}) expects inputs of shape (C={mod.in_channels}, "
                f"{'L' if nd == 1 else 'H, W'}), but the tensor reaching it has shape {expr.shape}"
            )
        padding = mod.padding
        if isinstance(padding, str):
            if padding == "valid":
                padding = 0
            else:  # 'same' (stride 1): PyTorch pads the extra element at the end
                pads_b, pads_e = [], []
                for k, dl in zip(mod.kernel_size, mod.dilation):
                    total = dl * (k - 1)
                    pads_b.append(total // 2)
                    pads_e.append(total - total // 2)
                padding = pads_b + pads_e
        bias = None if mod.bias is None else _np(mod.bias)
        W, info = conv_matrix(_np(mod.weight), expr.shape, stride=mod.stride, padding=padding,
                              dilation=mod.dilation, groups=mod.groups, bias=bias)
        per = int(np.prod(info.out_shape[1:]))
        b = None if bias is None else np.repeat(bias, per)
        return builder.linear(expr, W, b, info.out_shape, f"{label} ({kind})", conv=info)
    if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
        if mod.training:
            raise InvalidInputError(f"module {label!r} ({kind}) is in training mode; call model.eval() first")
        if mod.running_mean is None or mod.running_var is None:
            raise UnsupportedLayerError(f"module {label!r} ({kind}) has no running statistics")
        if expr.shape[0] != mod.num_features:
            raise InvalidInputError(
                f"module {label!r} ({kind}) has {mod.num_features} features, but the tensor reaching "
                f"it has shape {expr.shape}"
            )
        g = (_np(mod.weight) if mod.affine else np.ones(mod.num_features)) / np.sqrt(_np(mod.running_var) + mod.eps)
        beta = _np(mod.bias) if mod.affine else np.zeros(mod.num_features)
        shift = beta - _np(mod.running_mean) * g
        bshape = (-1,) + (1,) * (len(expr.shape) - 1)
        return builder.scale_shift(expr, g.reshape(bshape), shift.reshape(bshape), f"{label} ({kind})")
    if isinstance(mod, (nn.AvgPool1d, nn.AvgPool2d)):
        if mod.ceil_mode:
            raise UnsupportedLayerError(f"module {label!r} ({kind}) with ceil_mode=True")
        if getattr(mod, "divisor_override", None):
            raise UnsupportedLayerError(f"module {label!r} ({kind}) with divisor_override")
        W, out_shape = avgpool_matrix(expr.shape, mod.kernel_size, stride=mod.stride or None,
                                      padding=mod.padding, count_include_pad=mod.count_include_pad)
        return builder.linear(expr, W, None, out_shape, f"{label} ({kind})")
    raise UnsupportedLayerError(
        f"module {label!r} of type {kind} is not supported (supported: {', '.join(SUPPORTED_MODULES)})"
    )


def _maxpool(label: str, kind: str, mod: Any, expr: LinearExpr, nn) -> MaxPool:
    nd = 1 if isinstance(mod, nn.MaxPool1d) else 2
    if len(expr.shape) != nd + 1:
        raise InvalidInputError(
            f"module {label!r} ({kind}) expects inputs of shape (C, {'L' if nd == 1 else 'H, W'}), but the tensor "
            f"reaching it has shape {expr.shape}")
    if mod.ceil_mode:
        raise UnsupportedLayerError(f"module {label!r} ({kind}) with ceil_mode=True (only floor rounding is supported)")
    if mod.return_indices:
        raise UnsupportedLayerError(f"module {label!r} ({kind}) with return_indices=True")
    dil = (mod.dilation,) * nd if isinstance(mod.dilation, int) else tuple(mod.dilation)
    if any(int(v) != 1 for v in dil):
        raise UnsupportedLayerError(f"module {label!r} ({kind}) with dilation {mod.dilation} "
                                    f"(only dilation 1 is supported)")
    try:
        return MaxPool(expr.shape, kernel=mod.kernel_size, stride=mod.stride or None, padding=mod.padding)
    except InvalidInputError as exc:
        raise InvalidInputError(f"module {label!r} ({kind}): {exc}") from exc
