"""Animation files: ARKit curves (JSON, CSV), vertices .npy, an animated .glb, Unreal's Live Link
Face CSV and TalkingHead's animation JSON."""

from .bundle import EXPORT_FILES, EXPORT_FORMATS, export_animation
from .curves import curves_doc, read_curves, read_curves_csv, read_head_rotation, resample_curves, write_curves, write_curves_csv
from .gltf import write_glb
from .livelink import read_livelink, write_livelink
from .talkinghead import read_talkinghead, write_talkinghead

__all__ = [
    "EXPORT_FILES",
    "EXPORT_FORMATS",
    "curves_doc",
    "export_animation",
    "read_curves",
    "read_curves_csv",
    "read_head_rotation",
    "read_livelink",
    "read_talkinghead",
    "resample_curves",
    "write_curves",
    "write_curves_csv",
    "write_glb",
    "write_livelink",
    "write_talkinghead",
]
