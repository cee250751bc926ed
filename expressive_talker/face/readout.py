"""The expression a face shows, read back from its ARKit weights: the nearest FACS prototype.

It lives with the rig (not in ``metrics``) because the motion layer reads it too, and lower
rooms never import higher ones; ``metrics.read_expression`` is this function.
"""

from __future__ import annotations

import functools

import numpy as np

from .expressions import EMOTIONS, emotion_weights
from .rig import ARKIT_NAMES

# Channels that speech moves in every emotion: left out of the expression readout.
ARTICULATION = {
    "jawOpen", "jawForward", "jawLeft", "jawRight", "mouthClose", "mouthFunnel", "mouthPucker",
    "mouthRollUpper", "mouthRollLower", "mouthShrugUpper", "mouthLeft", "mouthRight", "tongueOut",
    "eyeBlinkLeft", "eyeBlinkRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeLookDownLeft",
    "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight",
}  # fmt: skip
EXPRESSION_CHANNELS = np.array([i for i, n in enumerate(ARKIT_NAMES) if n not in ARTICULATION])
READOUT_LEVELS = (0.33, 0.66, 1.0)


@functools.lru_cache(maxsize=1)
def expression_prototypes() -> tuple[tuple[str, ...], tuple[float, ...], np.ndarray]:
    """(labels, levels, prototypes on EXPRESSION_CHANNELS): every emotion at every readout level
    (neutral once, at level 0). Cached (the live path reads every frame), so read-only."""
    labels, levels, rows = [], [], []
    for emotion in EMOTIONS:
        for level in (READOUT_LEVELS if emotion != "neutral" else (0.0,)):
            labels.append(emotion)
            levels.append(level)
            rows.append(emotion_weights(emotion, level)[EXPRESSION_CHANNELS])
    protos = np.stack(rows)
    protos.setflags(write=False)
    return tuple(labels), tuple(levels), protos


def read_expression(weights) -> tuple[str, float]:
    """ARKit weights (T,52) -> (emotion, intensity level) of the nearest FACS prototype to their
    average on the expression channels; neutral has level 0."""
    mean = np.asarray(weights)[:, EXPRESSION_CHANNELS].mean(axis=0)
    labels, levels, protos = expression_prototypes()
    best = int(np.argmin(np.linalg.norm(protos - mean, axis=1)))
    return labels[best], levels[best]
