"""TalkingHead's blendshape animation: the ``anim`` object its ``speakAudio`` plays in sync with the
audio (met4citizen/TalkingHead, MIT; README Appendix F, ``animFactory`` in modules/talkinghead.mjs)::

    {"name": "expressive-talker", "dt": [0, 33.333, 33.333, ...],
     "vs": {"jawOpen": [...], ..., "headRotateX": [...], "headRotateY": [...], "headRotateZ": [...]}}

- ``vs`` maps a morph target name (the 52 ARKit names as Apple spells them) to one value per frame.
- ``dt`` are milliseconds. TalkingHead keys value ``i`` at ``dt[0] + ... + dt[i]`` after the audio
  starts, so ``dt[0]`` is 0 and frame ``i`` lands at ``i / fps`` seconds.
- The head track rides in TalkingHead's own custom targets ``headRotateX/Y/Z``: Euler angles in
  radians (limited to ±1) multiplied onto the avatar's Head bone, whose axes on the Mixamo-style
  skeletons TalkingHead drives are x to the avatar's left, y up, z forward (its own templates nod
  "yes" and look sad with x > 0: face down). Those are this project's pitch, yaw and roll axes
  and signs (``curves.head_track``); three.js composes them in XYZ order where this project
  turns yaw·pitch·roll, so the angles are converted to give the same head rotation.
"""

from __future__ import annotations

import json

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import InputError
from ..face.motion import head_matrices
from ..face.rig import ARKIT_NAMES, INDEX, NUM_BLENDSHAPES
from .curves import head_track, load_json

HEAD_TARGETS = ("headRotateX", "headRotateY", "headRotateZ")  # pitch, yaw, roll


def write_talkinghead(path, weights: np.ndarray, fps: float, head_rotation: np.ndarray | None = None) -> None:
    """(T,52) ARKit weights and the head track (T,3 degrees, or None) -> TalkingHead ``anim`` JSON."""
    weights = np.asarray(weights, dtype=float)
    frames = len(weights)
    # Milliseconds from the frames' rounded times, so the keys add up to i / fps without drift.
    times = np.round(np.arange(frames) * 1000.0 / fps, 3)
    # (pitch, yaw, roll) turned yaw·pitch·roll -> the XYZ Euler angles three.js applies.
    head = Rotation.from_matrix(head_matrices(head_track(head_rotation, frames))).as_euler("XYZ")
    values = {name: np.round(weights[:, i], 5).tolist() for i, name in enumerate(ARKIT_NAMES)}
    values.update({name: np.round(head[:, i], 6).tolist() for i, name in enumerate(HEAD_TARGETS)})
    anim = {"name": "expressive-talker", "dt": np.round(np.diff(times, prepend=0.0), 3).tolist(), "vs": values}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(anim, f)


def read_talkinghead(path) -> tuple[np.ndarray, float, np.ndarray]:
    """A TalkingHead ``anim`` JSON -> (weights (T,52), fps, head rotation (T,3) degrees).

    Targets other than ARKit's and the head's (visemes, TalkingHead's extras) are ignored; a
    single frame gets 30 fps.
    """
    anim, name = load_json(path, "TalkingHead")
    if not isinstance(anim, dict) or not isinstance(anim.get("dt"), list) or not isinstance(anim.get("vs"), dict):
        raise InputError(f'{name} must be a TalkingHead animation: an object with "dt" and "vs"')
    try:
        dt = np.asarray(anim["dt"], dtype=np.float64)
        tracks = {k: np.asarray(v, dtype=np.float64) for k, v in anim["vs"].items() if k in INDEX or k in HEAD_TARGETS}
    except (TypeError, ValueError):
        raise InputError(f'"dt" and every list in "vs" of {name} must hold numbers') from None
    frames = len(dt)
    if frames == 0 or dt.ndim != 1 or any(v.shape != (frames,) for v in tracks.values()):
        raise InputError(f'{name} needs one value per frame: every list in "vs" as long as "dt" ({frames})')
    if not (np.all(np.isfinite(dt)) and all(np.all(np.isfinite(v)) for v in tracks.values())):
        raise InputError(f"{name} contains NaN or infinite values")
    steps = dt[1:]
    if frames > 1 and not np.all(steps > 0):
        raise InputError(f'the frame durations "dt" in {name} must be positive after the first')
    weights = np.zeros((frames, NUM_BLENDSHAPES), dtype=np.float32)
    for k, v in tracks.items():
        if k in INDEX:
            weights[:, INDEX[k]] = v
    xyz = np.stack([tracks.get(k, np.zeros(frames)) for k in HEAD_TARGETS], 1)
    yaw, pitch, roll = Rotation.from_euler("XYZ", xyz).as_euler("YXZ", degrees=True).T
    fps = 1000.0 * (frames - 1) / steps.sum() if frames > 1 else 30.0
    return weights, float(round(fps, 3)), np.stack([pitch, yaw, roll], 1).astype(np.float32)
