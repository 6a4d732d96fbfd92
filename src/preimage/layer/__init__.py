"""One-layer geometry: hyperplanes, dual basis, one-layer preimage."""

from .dual_basis import DualBasis, Hyperplanes, dual_basis, hyperplanes
from .preimage import LayerPreimage, layer_preimage

__all__ = ["DualBasis", "Hyperplanes", "LayerPreimage", "dual_basis", "hyperplanes", "layer_preimage"]
