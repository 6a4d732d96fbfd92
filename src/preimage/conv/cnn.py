"""Real convolutional networks end to end: the exact activity preimage of an example at every
layer (paper 002, §3; paper 000, §5), under a budget.

A multi-channel ``Conv2d`` network imported with :func:`preimage.load` or
:func:`preimage.from_torch` is a chain of (sparse) affine layers like any other, so the
engine computes the preimage of an example's activity ``h_k(x)`` at each layer ``k``
exactly. Deeper layers of a real CNN have astronomically many activation patterns in a
pixel box, so the search runs under a time and piece budget per layer; every layer reports
honestly what it found (:attr:`LayerActivityPreimage.complete`, ``stopped_by``). Whatever
the budget, the piece of the preimage *containing the example* is known exactly from the
example's own activation pattern: its dimension is :attr:`LayerActivityPreimage.local_dim`
(:func:`~preimage.conv.contraction_profile`'s local preimage).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import readonly, require_relu_layers
from ..errors import InvalidInputError
from ..polyhedra import Polyhedron

__all__ = ["LayerActivityPreimage", "ActivityPreimagesByLayer", "activity_preimages_by_layer"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, eq=False)
class LayerActivityPreimage:
    """The preimage of the example's activity at one layer.

    Attributes
    ----------
    layer : ``k`` (1-based).
    width : the layer's width.
    relu : whether the layer has a ReLU (else it has no activation: the activity is a linear
        output, e.g. logits; other activations are refused, the local preimage being about ReLU layers).
    activity : ``h_k(x)`` (read-only).
    nonzero : its number of non-zero entries.
    result : the engine's :class:`~preimage.PreimageResult` (pieces found, ``complete``,
        ``stopped_by``, ``stats``).
    local_piece : the piece of the preimage that contains ``x``, from ``x``'s own pattern
        (:func:`~preimage.conv.local_preimage_piece`) — exact, and known even when the budget
        stopped the search before reaching it.
    local_dim : its dimension (:func:`~preimage.conv.contraction_profile`; ``−1`` when too
        close to call).
    x_piece : index in ``result.set`` of a found piece containing ``x`` (``None``: not found
        within the budget).
    x_piece_dim : that piece's dimension (:attr:`preimage.Polyhedron.dim`), or ``None``.
    seconds : time taken for this layer.
    """

    layer: int
    width: int
    relu: bool
    activity: np.ndarray
    nonzero: int
    result: Any
    local_piece: Polyhedron
    local_dim: int
    x_piece: int | None
    x_piece_dim: int | None
    seconds: float

    @property
    def pieces(self) -> int:
        return len(self.result.set)

    @property
    def complete(self) -> bool:
        return bool(self.result.complete)

    @property
    def stopped_by(self) -> str | None:
        return self.result.stopped_by

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "width": self.width,
            "relu": self.relu,
            "nonzero": self.nonzero,
            "pieces": self.pieces,
            "complete": self.complete,
            "stopped_by": self.stopped_by,
            "stats": self.result.stats.as_dict(),
            "local_dim": self.local_dim,
            "x_piece": self.x_piece,
            "x_piece_dim": self.x_piece_dim,
            "seconds": self.seconds,
        }


@dataclass(frozen=True, slots=True, eq=False)
class ActivityPreimagesByLayer:
    """Result of :func:`activity_preimages_by_layer`: one :class:`LayerActivityPreimage` per layer."""

    x: np.ndarray
    layers: tuple[LayerActivityPreimage, ...]
    domain: str
    seconds: float

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __getitem__(self, i: int) -> LayerActivityPreimage:
        return self.layers[i]

    @property
    def complete(self) -> bool:
        """Whether every layer's preimage was enumerated completely."""
        return all(r.complete for r in self.layers)

    def __repr__(self) -> str:
        body = ", ".join(f"layer {r.layer}: {r.pieces} pieces{'' if r.complete else ' (incomplete)'}, "
                         f"local dim {r.local_dim}" for r in self.layers)
        return f"ActivityPreimagesByLayer({body})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_dim": int(self.x.shape[0]),
            "domain": self.domain,
            "complete": self.complete,
            "seconds": self.seconds,
            "layers": [r.to_dict() for r in self.layers],
        }


def activity_preimages_by_layer(
    net,
    x,
    domain,
    *,
    layers: Sequence[int] | None = None,
    time_limit_per_layer: float | None = None,
    max_pieces: int | None = None,
) -> ActivityPreimagesByLayer:
    """The exact preimage of ``h_k(x)`` in ``domain`` at each layer ``k``, with a budget.

    Parameters
    ----------
    net : preimage.Network
        E.g. a multi-channel CNN from :func:`preimage.load` (``Conv2d`` layers become sparse
        affine layers).
    x : (n,) array_like, or the network's input shape (e.g. ``(1, 8, 8)``)
        The example; it must lie in ``domain``.
    domain : Box or Polyhedron
        Bounded input domain (e.g. the pixel box ``[0, 1]^n``).
    layers : layers to analyse (default ``1 … depth``).
    time_limit_per_layer, max_pieces : the engine's budgets, per layer.

    Returns
    -------
    ActivityPreimagesByLayer

    Examples
    --------
    >>> import numpy as np, preimage
    >>> net = preimage.Network.from_arrays([(np.eye(2), [-0.5, -0.5], True), (np.ones((1, 2)), [0.0], False)])
    >>> r = activity_preimages_by_layer(net, [0.2, 0.8], preimage.Box([0.0, 0.0], [1.0, 1.0]))
    >>> [(L.layer, L.pieces, L.complete, L.local_dim, L.x_piece_dim) for L in r]
    [(1, 1, True, 1, 1), (2, 3, True, 1, 1)]
    """
    from ..engine.api import preimage
    from ..engine.targets import Activity
    from ..network import Network
    from .contraction import _domain_system, contraction_profile, local_preimage_piece

    if not isinstance(net, Network):
        raise InvalidInputError(f"net must be a preimage.Network, got {type(net).__name__}")
    require_relu_layers(net, "activity_preimages_by_layer (local preimages of ReLU layers)")
    t_all = time.perf_counter()
    X, _ = net._inputs(x)
    if X.shape[0] != 1:
        raise InvalidInputError(f"x must be one example, got {X.shape[0]}")
    x0 = X[0]
    if domain is None:
        raise InvalidInputError("a bounded domain is required (e.g. preimage.Box over the pixel range)")
    _, dom_desc = _domain_system(domain, net.input_dim)
    if layers is None:
        chosen = list(range(1, net.depth + 1))
    else:
        chosen = [net._check_layer(k, allow_input=False) for k in layers]
    profile = contraction_profile(net, x0[None, :], domain=domain)
    out = []
    for k in chosen:
        t0 = time.perf_counter()
        y = net.activations(x0, k)
        res = preimage(net, Activity(y), layer=k, domain=domain, time_limit=time_limit_per_layer, max_pieces=max_pieces,
                       near=x0)
        idx = int(res.set.locate(x0)) if len(res.set) else -1
        piece_dim = res.set[idx].polyhedron.dim if idx >= 0 else None
        lay = net.layers[k - 1]
        out.append(LayerActivityPreimage(
            layer=k, width=lay.out_dim, relu=lay.relu, activity=readonly(np.array(y)),
            nonzero=int(np.count_nonzero(y)), result=res,
            local_piece=local_preimage_piece(net, x0, k, domain=domain), local_dim=int(profile.local_dim[0, k]),
            x_piece=idx if idx >= 0 else None, x_piece_dim=piece_dim, seconds=time.perf_counter() - t0,
        ))
        log.info("layer %d: %d pieces (%s), local dim %d", k, len(res.set),
                 "complete" if res.complete else f"stopped by {res.stopped_by}", out[-1].local_dim)
    return ActivityPreimagesByLayer(readonly(x0.copy()), tuple(out), dom_desc, time.perf_counter() - t_all)
