"""Animation files: ARKit curves (JSON, CSV), vertices .npy and an animated .glb."""

from .bundle import EXPORT_FORMATS, export_animation
from .curves import curves_doc, read_curves, read_curves_csv, read_head_rotation, resample_curves, write_curves, write_curves_csv
from .gltf import write_glb

__all__ = [
    "EXPORT_FORMATS",
    "curves_doc",
    "export_animation",
    "read_curves",
    "read_curves_csv",
    "read_head_rotation",
    "resample_curves",
    "write_curves",
    "write_curves_csv",
    "write_glb",
]
