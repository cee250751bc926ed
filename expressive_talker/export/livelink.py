"""Unreal's Live Link Face CSV: the take file Epic's Live Link Face iOS app records, which Unreal's
LiveLinkFaceImporter and the Maya/Blender/MotionBuilder importers read.

One header row, then one row per frame::

    Timecode,BlendShapeCount,EyeBlinkLeft,...,TongueOut,HeadYaw,HeadPitch,HeadRoll,
    LeftEyeYaw,LeftEyePitch,LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll
    00:00:00:00.000,61,0.000000,...

- ``Timecode`` is ``HH:MM:SS:FF.mmm``: a frame number ``FF`` within the second and a sub-frame
  fraction. Like the app, this writer stamps 60 fps timecode from ``00:00:00:00.000``, one row
  per animation frame (at 30 fps: ``00.000``, ``02.000``, ``04.000``...).
- ``BlendShapeCount`` is 61: the 52 ARKit weights plus 9 rotation columns.
- The 52 shapes are Apple's ARKit names with a capital first letter, in the app's order below.
- Rotations are radians. In the app's recordings ``LeftEyeYaw`` rises with eyeLookInLeft and
  ``RightEyeYaw`` with eyeLookOutRight, so yaw > 0 turns towards the face's own right, and
  pitch > 0 looks down. The head columns are taken to follow the same convention (both are
  Unreal rotators in the face's frame; no recording with head rotation was at hand to measure
  it), which makes roll > 0 tilt the top of the head towards the face's own left.

This project's head track (``curves.head_track``: pitch, yaw, roll in degrees; yaw > 0 to the
face's own left, roll > 0 to its own right) becomes ``HeadPitch = pitch``, ``HeadYaw = -yaw``,
``HeadRoll = -roll`` in radians. Eye angles come from the eyeLook* weights at the renderer's scale
(``face.rig.eye_angles``); their roll is 0.
"""

from __future__ import annotations

import csv
import os
import re

import numpy as np

from ..errors import InputError
from ..face.rig import INDEX, NUM_BLENDSHAPES, eye_angles
from .curves import head_track

# The app's column order, as ARKit names (the CSV capitalises the first letter).
LIVELINK_SHAPES = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight", "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawRight", "jawLeft", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthRight", "mouthLeft", "mouthSmileLeft", "mouthSmileRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthPressLeft", "mouthPressRight",
    "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
)  # fmt: skip
ROTATION_COLUMNS = (
    "HeadYaw", "HeadPitch", "HeadRoll",
    "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll", "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
)  # fmt: skip
HEADER = ("Timecode", "BlendShapeCount", *(n[0].upper() + n[1:] for n in LIVELINK_SHAPES), *ROTATION_COLUMNS)
BLENDSHAPE_COUNT = len(LIVELINK_SHAPES) + len(ROTATION_COLUMNS)  # 61, as the app writes
# The app's timecode counts 60 frames a second whatever rate its rows come at (a 30 Hz take steps
# two frames a row), and some importers (the Maya plug-in) assume 60: so do we.
TIMECODE_RATE = 60
# Timecode rates a reader may guess among when a clip never reaches a new second.
TIMECODE_RATES = (24, 25, 30, 48, 50, 60, 120)
TIMECODE = re.compile(r"^(\d+):(\d\d):(\d\d)[:;](\d+)(?:\.(\d+))?$")


def timecode(frame: int, fps: float) -> str:
    """Frame ``frame`` of an animation at ``fps`` as the app stamps it: ``HH:MM:SS:FF.mmm`` with
    ``FF`` counted at ``TIMECODE_RATE`` and ``.mmm`` the fraction of that frame."""
    ticks = round(frame * TIMECODE_RATE * 1000 / fps)  # thousandths of a timecode frame
    frames, sub = divmod(ticks, 1000)
    seconds, ff = divmod(frames, TIMECODE_RATE)
    minutes, ss = divmod(seconds, 60)
    hh, mm = divmod(minutes, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}.{sub:03d}"


def write_livelink(path, weights: np.ndarray, fps: float, head_rotation: np.ndarray | None = None) -> None:
    """(T,52) ARKit weights and the head track (T,3 degrees, or None) -> a Live Link Face CSV."""
    weights = np.asarray(weights, dtype=float)
    order = [INDEX[n] for n in LIVELINK_SHAPES]
    pitch, yaw, roll = np.radians(head_track(head_rotation, len(weights))).T
    eyes = np.radians(eye_angles(weights))  # (T, [left, right], [yaw, pitch]), yaw > 0 to the face's left
    zero = np.zeros(len(weights))
    rotations = np.stack([-yaw, pitch, -roll, -eyes[:, 0, 0], eyes[:, 0, 1], zero, -eyes[:, 1, 0], eyes[:, 1, 1], zero], 1)
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for t in range(len(weights)):
            values = (*weights[t, order], *rotations[t])
            out.writerow([timecode(t, fps), BLENDSHAPE_COUNT, *(f"{v:.6f}" for v in values)])


def _seconds(code: str, rate: int) -> float:
    hh, mm, ss, ff, sub = TIMECODE.match(code).groups()
    return int(hh) * 3600 + int(mm) * 60 + int(ss) + (int(ff) + float(f"0.{sub or 0}")) / rate


def _timecode_rate(codes: list[str]) -> int | None:
    """The timecode's frame rate, among the common rates above the largest frame number: the one
    that spaces the rows most evenly in time (a wrong rate makes a jump where the second turns
    over); for a clip that never reaches a new second, the app's 60 (or the smallest rate that fits)."""
    parts = [TIMECODE.match(c).groups() for c in codes]
    candidates = [r for r in TIMECODE_RATES if r > max(int(p[3]) for p in parts)]
    if not candidates:
        return None
    if len({p[:3] for p in parts}) == 1:
        return TIMECODE_RATE if TIMECODE_RATE in candidates else candidates[0]

    def unevenness(rate):
        steps = np.diff([_seconds(c, rate) for c in codes])
        return steps.std() / max(abs(steps.mean()), 1e-9)

    return min(candidates, key=unevenness)


def read_livelink(path, timecode_fps: int | None = None) -> tuple[np.ndarray, float, np.ndarray]:
    """A Live Link Face CSV -> (weights (T,52) in this project's order, fps, head rotation (T,3)
    degrees as ``curves.head_track`` defines it).

    Columns are found by name (any case; unknown columns are ignored, missing shapes are zero).
    The frame rate is that of the rows' timecodes. The timecode's own rate is ``timecode_fps``, or
    the common rate that spaces the rows evenly; a clip that never reaches a new second is taken
    to have the app's 60 fps timecode (pass the rate otherwise).
    """
    name = os.path.basename(os.fspath(path))
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = [r for r in csv.reader(f) if r]
    except FileNotFoundError:
        raise InputError(f"Live Link file not found: {path}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{name} is not a readable CSV file: {exc}") from None
    header = [h.strip().lower() for h in rows[0]] if rows else []
    if len(rows) < 2 or header[:2] != ["timecode", "blendshapecount"]:
        raise InputError(f"{name} is not a Live Link Face CSV: it needs a 'Timecode,BlendShapeCount,...' header and at least one frame")
    codes = [r[0].strip() for r in rows[1:]]
    bad = next((c for c in codes if not TIMECODE.match(c)), None)
    if bad is not None:
        raise InputError(f"{name} has a timecode {bad!r} that is not HH:MM:SS:FF.mmm")
    column = {h: i for i, h in enumerate(header)}
    shapes = [n for n in LIVELINK_SHAPES if n.lower() in column]
    try:
        table = np.asarray([[float(r[column[n.lower()]]) for n in shapes] for r in rows[1:]], dtype=np.float64)
        head = np.asarray([[float(r[column[c.lower()]]) if c.lower() in column else 0.0 for c in ROTATION_COLUMNS[:3]] for r in rows[1:]])
    except (ValueError, IndexError):
        raise InputError(f"{name} has a row that is not all numbers") from None
    if not (np.all(np.isfinite(table)) and np.all(np.isfinite(head))):
        raise InputError(f"{name} contains NaN or infinite values")
    weights = np.zeros((len(codes), NUM_BLENDSHAPES), dtype=np.float32)
    weights[:, [INDEX[n] for n in shapes]] = table.reshape(len(codes), len(shapes))
    yaw, pitch, roll = np.degrees(head).T
    head_rotation = np.stack([pitch, -yaw, -roll], 1).astype(np.float32)
    rate = timecode_fps or _timecode_rate(codes)
    if rate is None:
        raise InputError(f"the frame numbers in {name}'s timecodes fit no common frame rate: pass the timecode rate")
    if len(codes) < 2:
        return weights, float(rate), head_rotation
    times = np.asarray([_seconds(c, rate) for c in codes])
    elapsed = times[-1] - times[0]
    if elapsed <= 0:
        raise InputError(f"the timecodes in {name} do not advance")
    return weights, float(round((len(codes) - 1) / elapsed, 3)), head_rotation
