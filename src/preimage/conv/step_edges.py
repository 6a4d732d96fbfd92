"""Step edges at negative-response locations: members of a real image's layer-1 preimage
(paper 002, §3, "Convolutional networks have 'well-behaved' preimages").

The paper's argument: deleting the kernels that respond negatively at some locations leaves a
convolution whose null space holds a *step edge* ``(a, …, a, b, …, b)`` with "the step at the
location (i) of the deleted kernels"; so "the preimages associated with an image with step edges
therefore consists of the original image with step edges overlaid on already existing edges".

For an image ``x`` and the first layer ``relu(W x + b)`` of a trained network (a convolution,
flattened to its dense Toeplitz matrix ``W``), with activity ``a`` and ``J = {j : a_j > 0}``
(kept units), ``I = {i : a_i = 0}`` (deleted units), the layer-1 preimage of ``a`` is

    ``P_1(a) = {x' : W_J x' + b_J = a_J,  W_I x' + b_I <= 0}``

so ``x + v ∈ P_1(a)`` if and only if ``W_J v = 0`` and ``W_I (x + v) + b_I <= 0``.

What :func:`step_edge_members` builds, exactly:

1. The **free inputs** ``F``: the pixels (samples) such that every unit whose receptive field
   contains them — in every output channel, at every location with a non-zero weight on the
   pixel — is deleted. These are the paper's negative-response locations: all kernels covering
   them respond with ``w·x + b <= 0``.
2. The **step regions** ``S_1, S_2, …``: the connected components of ``F`` on the input grid
   (runs of samples in 1-D, 4-connected pixel sets in 2-D, per input channel), largest first.
3. The **step edges** ``v_r = h_r · 1_{S_r}``: the image raised (or lowered) by a constant
   ``h_r`` on ``S_r`` and left unchanged elsewhere — a step up at one end of the region and a
   step down at the other (a single step where the region reaches the image border). Every kept
   unit's receptive field misses ``S_r``, so ``W_J v_r = 0`` holds structurally (zero weights
   times any value), not merely to rounding: ``v_r`` is a null vector of the kept kernels.
4. The **heights** ``h_r``, chosen one region after the other so that the deleted units stay
   deleted: with ``z = W_I (x + v_1 + … + v_{r−1}) + b_I <= 0`` and ``c = W_I 1_{S_r}``, the
   admissible heights are the interval ``{h : z + h c <= 0}`` (intersected with
   ``|h| <= max_height`` and, given a box ``domain``, with ``x + h 1_{S_r}`` inside the box), which
   contains 0. ``h_r`` is ``fraction`` times its endpoint of larger magnitude (positive on a
   tie), so a deleted unit that was strictly negative stays strictly negative. A region whose
   interval is ``{0}`` gets no step (:attr:`StepEdgeMembers.blocked`).

Hence every partial sum ``x + v_1 + … + v_r`` lies in ``P_1(a)``: it has exactly the activity of
``x`` at layer 1. Where the paper assumes edge-like (zero-sum) kernels, the constant ``a`` on the
far side of the step is also annihilated, so a step may run under kept kernels lying wholly on one
side of it (:func:`~preimage.conv.step_edge_null_vector`); trained kernels do not sum to zero, so
here the far side is the image itself (``a = 0``) and the step region must be free.

When the kept rows ``W_J`` have full column rank (:attr:`StepEdgeMembers.null_dimension` ``= 0``)
the preimage is the single point ``{x}`` and there are no step edges at all: no pixel is free.
This is what happens on the digits CNN (4 channels, positive biases: about 220 of its 256
layer-1 units are positive on a test image).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._rank import decide_rank
from .._validation import readonly
from ..errors import InvalidInputError
from ..polyhedra import Box

__all__ = ["StepEdgeMembers", "step_edge_members"]


@dataclass(frozen=True, slots=True, eq=False)
class StepEdgeMembers:
    """Step edges at the negative-response locations of one input, for the first layer.

    Attributes
    ----------
    x : (n,) the input, flattened (read-only).
    input_shape : the layer's input shape ``(C_in, *spatial)`` (``(1, n)`` for a dense layer).
    pre_activation : ``W x + b`` (read-only).
    activity : ``a = relu(W x + b)``.
    positive, deleted : masks of the kept units ``J`` (``a_j > 0``) and deleted units ``I``.
    null_dimension : ``dim ker W_J`` (``0``: the layer-1 preimage of ``a`` is the point ``{x}``).
    free : (n,) mask of the inputs all of whose covering units are deleted.
    regions : index arrays (into the flat input) of the step regions ``S_r``, largest first,
        only those that received a step.
    heights : ``h_r`` (non-zero), one per region.
    height_ranges : (R, 2) the admissible interval ``[lo, hi]`` of ``h_r`` given the earlier steps.
    steps : (R, n) the step edges ``v_r = h_r 1_{S_r}``.
    blocked : how many free regions admit no step (admissible interval ``{0}``).
    """

    x: np.ndarray
    input_shape: tuple[int, ...]
    pre_activation: np.ndarray
    activity: np.ndarray
    positive: np.ndarray
    deleted: np.ndarray
    null_dimension: int
    free: np.ndarray
    regions: tuple[np.ndarray, ...]
    heights: np.ndarray
    height_ranges: np.ndarray
    steps: np.ndarray
    blocked: int

    @property
    def vector(self) -> np.ndarray:
        """``v = v_1 + … + v_R``, the sum of the step edges."""
        return readonly(self.steps.sum(axis=0)) if len(self.regions) else readonly(np.zeros_like(self.x))

    @property
    def member(self) -> np.ndarray:
        """``x + v``: the input with every step edge overlaid (a member of ``P_1(a)``)."""
        return readonly(self.x + self.vector)

    def partial_members(self) -> np.ndarray:
        """(R + 1, n): ``x``, ``x + v_1``, ``x + v_1 + v_2``, … — each a member of ``P_1(a)``."""
        return readonly(self.x + np.vstack([np.zeros_like(self.x), np.cumsum(self.steps, axis=0)]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_dim": int(self.x.shape[0]),
            "units": int(self.activity.shape[0]),
            "positive": int(self.positive.sum()),
            "deleted": int(self.deleted.sum()),
            "null_dimension": self.null_dimension,
            "free": int(self.free.sum()),
            "regions": [int(r.size) for r in self.regions],
            "heights": [float(h) for h in self.heights],
            "blocked": self.blocked,
        }


def _first_layer(net) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    from ..network import Network

    if not isinstance(net, Network):
        raise InvalidInputError(f"net must be a preimage.Network, got {type(net).__name__}")
    lay = net.layers[0]
    if not lay.relu:
        raise InvalidInputError("the first layer must have a ReLU: step edges keep deleted (zero) units deleted")
    W = np.asarray(lay.dense_weight, dtype=np.float64)
    conv = getattr(lay, "conv", None)
    shape = tuple(int(s) for s in conv.in_shape) if conv is not None else (1, W.shape[1])
    return W, np.asarray(lay.bias, dtype=np.float64), shape


def _regions(free: np.ndarray, shape: tuple[int, ...]) -> list[np.ndarray]:
    """Connected components of the free inputs per input channel (face connectivity), largest first."""
    from scipy import ndimage

    grid = free.reshape(shape)
    structure = ndimage.generate_binary_structure(grid.ndim, 1)
    structure[0] = structure[2] = False  # never connect across input channels (axis 0)
    labels, count = ndimage.label(grid, structure=structure)
    flat = labels.reshape(-1)
    comps = [np.flatnonzero(flat == k) for k in range(1, count + 1)]
    return sorted(comps, key=lambda c: (-c.size, int(c[0])))


def _interval(z: np.ndarray, c: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    """``{h in [lo, hi] : z + h c <= 0}`` for ``z <= 0`` (an interval containing 0)."""
    up, down = c > 0, c < 0
    if np.any(up):
        hi = min(hi, float(np.min(-z[up] / c[up])))
    if np.any(down):
        lo = max(lo, float(np.max(-z[down] / c[down])))
    return min(lo, 0.0), max(hi, 0.0)  # 0 is admissible: z <= 0 and x lies in the domain


def step_edge_members(net, x, *, fraction: float = 0.5, max_height: float = 1.0,
                      domain: Box | None = None) -> StepEdgeMembers:
    """Step edges at the negative-response locations of ``x`` that keep its layer-1 activity.

    Builds, for the first layer of ``net``, the step regions (connected sets of inputs whose
    covering units are all deleted), one step edge ``v_r = h_r 1_{S_r}`` per region, with
    heights that keep the deleted units deleted — the construction of the module docstring
    (paper 002, §3). ``x + v_1 + … + v_r`` lies in the layer-1 preimage of ``relu(W x + b)`` for
    every ``r``.

    Parameters
    ----------
    net : preimage.Network whose first layer has a ReLU (e.g. a Conv1d/Conv2d from
        :func:`preimage.load`).
    x : the input, flat ``(n,)`` or in the network's input shape.
    fraction : in ``(0, 1]``; the height is this fraction of the largest admissible one
        (below 1, deleted units that were strictly negative stay strictly negative).
    max_height : cap on ``|h_r|`` (positive).
    domain : optional :class:`~preimage.Box` the members must stay in (e.g. the pixel box).

    Returns
    -------
    StepEdgeMembers

    Examples
    --------
    A single-channel 1-D convolution with kernel ``(1, −1)`` and bias ``−0.5``: on
    ``x = (0, 0, 0, 1, 0)`` only the last unit is positive, so samples 0 … 2 are free; the step
    ``h · 1_{0,1,2}`` keeps unit 2 (``x_2 − x_3 − 0.5 = −1.5``) deleted while ``h <= 1.5``, and
    ``max_height = 1`` with ``fraction = 0.5`` gives ``h = 0.5``:

    >>> import numpy as np, preimage
    >>> W = np.array([[1., -1, 0, 0, 0], [0, 1, -1, 0, 0], [0, 0, 1, -1, 0], [0, 0, 0, 1, -1]])
    >>> net = preimage.Network.from_arrays([(W, [-0.5] * 4, True)])
    >>> s = step_edge_members(net, [0, 0, 0, 1.0, 0])
    >>> s.free.tolist(), s.heights.tolist(), s.member.tolist()
    ([True, True, True, False, False], [0.5], [0.5, 0.5, 0.5, 1.0, 0.0])
    >>> net.activations(s.member, 1).tolist(), net.activations([0, 0, 0, 1.0, 0], 1).tolist()
    ([0.0, 0.0, 0.0, 0.5], [0.0, 0.0, 0.0, 0.5])
    """
    W, b, shape = _first_layer(net)
    n = W.shape[1]
    X, _ = net._inputs(x)
    if X.shape[0] != 1:
        raise InvalidInputError(f"x must be one input, got {X.shape[0]}")
    x0 = X[0]
    if not (isinstance(fraction, (int, float)) and 0.0 < fraction <= 1.0):
        raise InvalidInputError(f"fraction must be a number in (0, 1], got {fraction!r}")
    if not (isinstance(max_height, (int, float)) and np.isfinite(max_height) and max_height > 0):
        raise InvalidInputError(f"max_height must be a positive finite number, got {max_height!r}")
    if domain is not None:
        if not isinstance(domain, Box) or domain.lo.shape[0] != n:
            raise InvalidInputError(f"domain must be a preimage.Box of dimension {n}, got {domain!r}")
        if not domain.contains(x0):
            raise InvalidInputError("x must lie in domain")
    z = W @ x0 + b
    pos = z > 0
    dele = ~pos
    null_dim = n - decide_rank(W[pos], "the kept rows W_J")
    free = ~np.any(W[pos] != 0, axis=0)
    zi, WI = z[dele].copy(), W[dele]
    regions, heights, ranges, blocked = [], [], [], 0
    for S in _regions(free, shape):
        lo, hi = -float(max_height), float(max_height)
        if domain is not None:
            lo = max(lo, float(np.max(domain.lo[S] - x0[S])))
            hi = min(hi, float(np.min(domain.hi[S] - x0[S])))
        c = WI[:, S].sum(axis=1)
        lo, hi = _interval(zi, c, lo, hi)
        end = hi if hi >= -lo else lo
        h = fraction * end
        if h == 0.0:
            blocked += 1
            continue
        zi = zi + h * c
        regions.append(readonly(S))
        heights.append(h)
        ranges.append((lo, hi))
    steps = np.zeros((len(regions), n))
    for r, (S, h) in enumerate(zip(regions, heights, strict=True)):
        steps[r, S] = h
    return StepEdgeMembers(
        x=readonly(x0.copy()), input_shape=shape, pre_activation=readonly(z), activity=readonly(np.maximum(z, 0.0)),
        positive=readonly(pos), deleted=readonly(dele), null_dimension=int(null_dim), free=readonly(free),
        regions=tuple(regions), heights=readonly(np.asarray(heights, dtype=np.float64)),
        height_ranges=readonly(np.asarray(ranges, dtype=np.float64).reshape(-1, 2)),
        steps=readonly(steps), blocked=blocked,
    )
