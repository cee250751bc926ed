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
  and take the nearest FACS prototype over emotions and intensities (``read_expression``, from
  ``face/readout.py``).
"""

from __future__ import annotations

import numpy as np

from .face.readout import read_expression
from .face.rig import FaceRig


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


def read_emotion(vertices, rig: FaceRig) -> str:
    """The emotion whose FACS prototype is nearest to the face's average expression."""
    return read_expression(rig.solve(vertices))[0]

