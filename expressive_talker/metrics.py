"""Vertex errors and expression readouts, with their formulas.

All errors take predicted and ground-truth vertices (T, V, 3) in metres of the same clip and
topology.

- ``lip_max`` (LVE): for each frame, the largest L2 distance over the lip vertices; averaged
  over frames.  mean_t max_{v in lips} ||p_tv - g_tv||_2
- ``face_max``: the same over all vertices.
- ``lip_mse`` / ``face_mse``: the squared L2 distance per vertex, averaged over the lip (all)
  vertices and frames.  mean_{t,v} ||p_tv - g_tv||_2^2
- ``fdd`` (upper-face dynamics deviation, as in CodeTalker): per upper-face vertex, the standard
  deviation over time of its displacement norm from the neutral face; the ground truth's minus
  the prediction's, averaged over those vertices.
- ``read_emotion``: the expression a face shows, read back through the rig: solve the ARKit
  weights, average them over time on the expression channels (not the speech articulators),
  and take the nearest FACS prototype over emotions and intensities.
"""

from __future__ import annotations

import numpy as np

from .face.expressions import EMOTIONS, emotion_weights
from .face.rig import ARKIT_NAMES, FaceRig

# Channels that speech moves in every emotion: left out of the expression readout.
ARTICULATION = {
    "jawOpen", "jawForward", "jawLeft", "jawRight", "mouthClose", "mouthFunnel", "mouthPucker",
    "mouthRollUpper", "mouthRollLower", "mouthShrugUpper", "mouthLeft", "mouthRight", "tongueOut",
    "eyeBlinkLeft", "eyeBlinkRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeLookDownLeft",
    "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight",
}  # fmt: skip
EXPRESSION_CHANNELS = np.array([i for i, n in enumerate(ARKIT_NAMES) if n not in ARTICULATION])
READOUT_LEVELS = (0.33, 0.66, 1.0)


def _distances(pred, gt):
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    if pred.shape != gt.shape:
        frames = min(len(pred), len(gt))
        pred, gt = pred[:frames], gt[:frames]
    return np.linalg.norm(pred - gt, axis=-1)  # (T, V)


def vertex_errors(pred, gt, lip_indices) -> dict:
    d = _distances(pred, gt)
    lips = d[:, lip_indices]
    return {
        "lip_max": float(lips.max(axis=1).mean()),
        "face_max": float(d.max(axis=1).mean()),
        "lip_mse": float((lips**2).mean()),
        "face_mse": float((d**2).mean()),
    }


def fdd(pred, gt, neutral, upper_indices) -> float:
    def dynamics(v):
        return np.linalg.norm(np.asarray(v)[:, upper_indices] - neutral[upper_indices], axis=-1).std(axis=0)

    frames = min(len(pred), len(gt))
    return float((dynamics(gt[:frames]) - dynamics(pred[:frames])).mean())


def _prototypes():
    labels, levels, rows = [], [], []
    for emotion in EMOTIONS:
        for level in (READOUT_LEVELS if emotion != "neutral" else (0.0,)):
            labels.append(emotion)
            levels.append(level)
            rows.append(emotion_weights(emotion, level)[EXPRESSION_CHANNELS])
    return labels, levels, np.stack(rows)


def read_emotion(vertices, rig: FaceRig) -> str:
    """The emotion whose FACS prototype is nearest to the face's average expression."""
    return read_expression(rig.solve(vertices))[0]


def read_expression(weights) -> tuple[str, float]:
    """ARKit weights (T,52) -> (emotion, intensity level) of the nearest FACS prototype to their
    average on the expression channels; neutral has level 0."""
    mean = np.asarray(weights)[:, EXPRESSION_CHANNELS].mean(axis=0)
    labels, levels, protos = _prototypes()
    best = int(np.argmin(np.linalg.norm(protos - mean, axis=1)))
    return labels[best], levels[best]
