"""Every download of one animation at once: vertices .npy, ARKit curves .json and .csv, .glb,
Unreal's Live Link Face CSV and TalkingHead's animation JSON."""

from __future__ import annotations

import os

import numpy as np

from .curves import write_curves, write_curves_csv
from .gltf import write_glb
from .livelink import write_livelink
from .talkinghead import write_talkinghead

# Format -> how its file name ends after the stem.
EXPORT_FILES = {
    "npy": ".npy",
    "json": ".json",
    "csv": ".csv",
    "glb": ".glb",
    "livelink": "-livelink.csv",
    "talkinghead": "-talkinghead.json",
}
EXPORT_FORMATS = tuple(EXPORT_FILES)


def export_animation(folder, vertices: np.ndarray | None, weights: np.ndarray, fps: float, stem: str = "animation", rig=None, head_rotation=None, timeline: dict | None = None) -> dict[str, str]:
    """Write ``stem.npy`` (vertices T×V×3, metres), ``stem.json`` / ``stem.csv`` (ARKit weights
    and the head rotation track), ``stem.glb`` (head with morph targets + animation, the head
    turning about the neck), ``stem-livelink.csv`` (Unreal's Live Link Face take) and
    ``stem-talkinghead.json`` (TalkingHead's ``speakAudio`` animation) into ``folder``; returns
    format -> path.

    ``weights`` are the ARKit weights that best explain ``vertices`` (``FaceRig.solve``): the
    curves, the .glb and the engine files are that projection, the .npy holds the vertices
    exactly (in the head's own frame: the head rotation is not applied to them).
    ``head_rotation`` (T,3) degrees: pitch, yaw, roll (zeros when None). ``vertices=None`` (a
    live take, which keeps only the curves): no ``.npy``. ``timeline``: the timeline of prompts
    the animation was made from, recorded in the ``.json``.
    """
    os.makedirs(folder, exist_ok=True)
    paths = {fmt: os.path.join(folder, stem + ending) for fmt, ending in EXPORT_FILES.items() if fmt != "npy" or vertices is not None}
    if vertices is not None:
        np.save(paths["npy"], np.asarray(vertices, dtype=np.float32), allow_pickle=False)
    for fmt in CURVE_FORMATS:
        write_format(fmt, paths[fmt], weights, fps, rig, head_rotation, timeline)
    return paths


# The formats made from the curves alone (every one but the vertices' .npy).
CURVE_FORMATS = tuple(fmt for fmt in EXPORT_FORMATS if fmt != "npy")


def write_format(fmt: str, path, weights: np.ndarray, fps: float, rig=None, head_rotation=None, timeline: dict | None = None) -> None:
    """One of ``CURVE_FORMATS`` from the ARKit weights (and head rotation): what
    ``export_animation`` writes for it. The live route writes a take's files this way, each when
    it is first asked for."""
    if fmt == "json":
        write_curves(path, weights, fps, head_rotation, timeline)
    elif fmt == "csv":
        write_curves_csv(path, weights, fps, head_rotation)
    elif fmt == "glb":
        write_glb(path, weights, fps, rig, head_rotation)
    elif fmt == "livelink":
        write_livelink(path, weights, fps, head_rotation)
    elif fmt == "talkinghead":
        write_talkinghead(path, weights, fps, head_rotation)
    else:
        raise ValueError(f"no curve format {fmt!r}; one of {', '.join(CURVE_FORMATS)}")
