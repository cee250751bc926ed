"""The ARKit face rig built from three.js's facecap head (see ``rig``)."""

from .rig import ARKIT_NAMES, INDEX, NUM_BLENDSHAPES, FaceRig, load_rig

__all__ = ["ARKIT_NAMES", "INDEX", "NUM_BLENDSHAPES", "FaceRig", "load_rig"]
