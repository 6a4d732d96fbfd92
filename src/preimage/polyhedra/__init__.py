"""Convex polyhedra, boxes, unions of pieces, and the one LP/QP solver wrapper."""

from .box import Box
from .io import load_geometry, save
from .polyhedral_set import AffineMap, Piece, PolyhedralSet
from .polyhedron import AffineHull, Polyhedron

__all__ = [
    "AffineHull",
    "AffineMap",
    "Box",
    "Piece",
    "Polyhedron",
    "PolyhedralSet",
    "load_geometry",
    "save",
]
