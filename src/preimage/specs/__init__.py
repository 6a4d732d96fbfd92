"""Verification specs: VNN-LIB parsing."""

from .vnnlib import Spec, SpecCase, load_vnnlib, parse_vnnlib

__all__ = ["Spec", "SpecCase", "load_vnnlib", "parse_vnnlib"]
