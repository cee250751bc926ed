"""ARKit blendshape curves as JSON (and the same table as CSV): ``{"fps": 30, "names": [...], "frames": [[...], ...],
"head_rotation_deg": [[pitch, yaw, roll], ...]}``.

``names`` lists the columns of ``frames`` using Apple's ARKit spelling, in any order; names
left out are zero. Values are weights in [0, 1] (values outside are clipped when posed).
``head_rotation_deg`` (optional when read) is the head's rotation per frame in degrees, as
``face/motion.py`` defines it: pitch > 0 tips the face down, yaw > 0 turns it to its own left,
roll > 0 tilts the top of the head to its own right. The CSV carries it as ``headPitch``,
``headYaw`` and ``headRoll`` columns.
"""

from __future__ import annotations

import csv
import json
import os

import numpy as np

from ..errors import InputError
from ..face.rig import ARKIT_NAMES, INDEX, NUM_BLENDSHAPES


def load_json(path, kind: str = "curves"):
    """(the parsed JSON document, the file's name) of a ``kind`` file, or one clear InputError."""
    name = os.path.basename(os.fspath(path))
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f), name
    except FileNotFoundError:
        raise InputError(f"{kind} file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{name} is not a readable JSON file: {exc}") from None


def read_curves(path) -> tuple[np.ndarray, float]:
    """A curves JSON file -> (weights (T,52) in this project's order, fps)."""
    doc, name = load_json(path)
    if not isinstance(doc, dict) or not {"fps", "names", "frames"} <= doc.keys():
        raise InputError(f'{name} must be an object with "fps", "names" and "frames"')
    names, frames, fps = doc["names"], doc["frames"], doc["fps"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError(f'"names" in {name} must be a list of ARKit blendshape names')
    unknown = [n for n in names if n not in INDEX]
    if unknown:
        raise InputError(f"unknown blendshape name {unknown[0]!r} in {name} (expected ARKit names such as 'jawOpen')")
    if len(set(names)) != len(names):
        raise InputError(f"a blendshape name appears twice in {name}")
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 1 <= fps <= 240:
        raise InputError(f'"fps" in {name} must be a number between 1 and 240')
    try:
        values = np.asarray(frames, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f'"frames" in {name} must be a list of lists of numbers') from None
    if values.size == 0:
        raise InputError(f"{name} has no frames")
    if values.ndim != 2 or values.shape[1] != len(names):
        raise InputError(f'every frame in {name} needs {len(names)} values, one per name')
    if not np.all(np.isfinite(values)):
        raise InputError(f"{name} contains NaN or infinite values")
    weights = np.zeros((len(values), NUM_BLENDSHAPES), dtype=np.float32)
    weights[:, [INDEX[n] for n in names]] = values
    return weights, float(fps)


HEAD_COLUMNS = ("headPitch", "headYaw", "headRoll")


def head_track(head_rotation, frames: int) -> np.ndarray:
    """(frames, 3) head angles in degrees for every export: zeros for a still head (None)."""
    return np.zeros((frames, 3)) if head_rotation is None else np.asarray(head_rotation, dtype=float).reshape(frames, 3)


def curves_doc(weights: np.ndarray, fps: float, head_rotation: np.ndarray | None = None) -> dict:
    """The curves JSON as a dict: what ``write_curves`` writes and the app's ``/animate`` returns."""
    weights = np.asarray(weights, dtype=float)
    return {
        "fps": fps,
        "names": ARKIT_NAMES,
        "frames": np.round(weights, 5).tolist(),
        "head_rotation_deg": np.round(head_track(head_rotation, len(weights)), 4).tolist(),
    }


def write_curves(path, weights: np.ndarray, fps: float, head_rotation: np.ndarray | None = None, timeline: dict | None = None) -> None:
    """The curves JSON; ``timeline``: the timeline of prompts it was made from (``Timeline.to_json``)."""
    doc = curves_doc(weights, fps, head_rotation)
    if timeline is not None:
        doc["timeline"] = timeline
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f)


def read_head_rotation(path, frames: int) -> np.ndarray | None:
    """The ``head_rotation_deg`` track (frames,3) of a curves JSON file that ``read_curves`` has
    read (``frames``: its frame count), or None when it has none."""
    name = os.path.basename(os.fspath(path))
    with open(path, encoding="utf-8") as f:
        track = json.load(f).get("head_rotation_deg")
    if track is None:
        return None
    try:
        values = np.asarray(track, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f'"head_rotation_deg" in {name} must be a list of [pitch, yaw, roll] numbers') from None
    if values.shape != (frames, 3) or not np.all(np.isfinite(values)):
        raise InputError(f'"head_rotation_deg" in {name} needs one finite [pitch, yaw, roll] per frame ({frames} frames)')
    return values.astype(np.float32)


def resample_curves(weights: np.ndarray, fps_in: float, fps_out: float) -> np.ndarray:
    """Linear resampling of (T,C) curves from one frame rate to another."""
    if fps_in == fps_out:
        return weights
    duration = len(weights) / fps_in
    t_out = np.arange(max(1, int(round(duration * fps_out)))) / fps_out
    t_in = np.arange(len(weights)) / fps_in
    return np.stack([np.interp(t_out, t_in, weights[:, c]) for c in range(weights.shape[1])], 1).astype(np.float32)


def write_curves_csv(path, weights: np.ndarray, fps: float, head_rotation: np.ndarray | None = None) -> None:
    """The same curves as CSV: ``frame,time,<52 ARKit names>,headPitch,headYaw,headRoll``, one
    row per frame, time in seconds, head angles in degrees."""
    weights = np.asarray(weights, dtype=float)
    head = head_track(head_rotation, len(weights))
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["frame", "time", *ARKIT_NAMES, *HEAD_COLUMNS])
        for t, row in enumerate(weights):
            out.writerow([t, f"{t / fps:.6f}", *(f"{v:.5f}" for v in row), *(f"{a:.4f}" for a in head[t])])


def read_curves_csv(path, default_fps: float = 30.0) -> tuple[np.ndarray, float]:
    """A curves CSV (as written above; extra columns ignored) -> (weights (T,52), fps).

    The frame rate comes from the time column; a single-frame file gets ``default_fps``.
    """
    name = os.path.basename(os.fspath(path))
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise InputError(f"curves file not found: {path}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{name} is not a readable CSV file: {exc}") from None
    if len(rows) < 2 or "time" not in rows[0]:
        raise InputError(f"{name} needs a header with a 'time' column and at least one frame")
    header = rows[0]
    columns = {n: header.index(n) for n in header if n in INDEX}
    try:
        table = np.asarray([[float(r[i]) for i in columns.values()] for r in rows[1:]], dtype=np.float64)
        times = np.asarray([float(r[header.index("time")]) for r in rows[1:]])
    except (ValueError, IndexError):
        raise InputError(f"{name} has a row that is not all numbers") from None
    weights = np.zeros((len(table), NUM_BLENDSHAPES), dtype=np.float32)
    weights[:, [INDEX[n] for n in columns]] = table.reshape(len(table), len(columns))
    fps = default_fps if len(times) < 2 else (len(times) - 1) / (times[-1] - times[0])
    return weights, float(round(fps, 3))
