"""Animation files: ARKit curves JSON (and later CSV, vertices .npy, animated .glb)."""

from .curves import read_curves, resample_curves, write_curves

__all__ = ["read_curves", "resample_curves", "write_curves"]
