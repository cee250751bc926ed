"""Emotions as FACS action units, and action units as ARKit blendshapes.

The prototypes follow Ekman & Friesen's EMFACS predictions for the basic emotions (plus MEAD's
contempt): which action units (AUs) a full-intensity expression shows. Each AU is then mapped
to the ARKit blendshapes that reproduce it on the facecap rig. The numbers are the AU's
strength at the emotion's full intensity, in [0, 1].
"""

from __future__ import annotations

import numpy as np

from .rig import INDEX, NUM_BLENDSHAPES

# AU -> ARKit blendshape weights at AU intensity 1.
AU_TO_ARKIT: dict[str, dict[str, float]] = {
    "AU1 inner brow raiser": {"browInnerUp": 1.0},
    "AU2 outer brow raiser": {"browOuterUpLeft": 1.0, "browOuterUpRight": 1.0},
    "AU4 brow lowerer": {"browDownLeft": 1.0, "browDownRight": 1.0},
    "AU5 upper lid raiser": {"eyeWideLeft": 1.0, "eyeWideRight": 1.0},
    "AU6 cheek raiser": {"cheekSquintLeft": 1.0, "cheekSquintRight": 1.0, "eyeSquintLeft": 0.4, "eyeSquintRight": 0.4},
    "AU7 lid tightener": {"eyeSquintLeft": 1.0, "eyeSquintRight": 1.0},
    "AU9 nose wrinkler": {"noseSneerLeft": 1.0, "noseSneerRight": 1.0},
    "AU10 upper lip raiser": {"mouthUpperUpLeft": 1.0, "mouthUpperUpRight": 1.0},
    "AU12 lip corner puller": {"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0},
    "AU12R lip corner puller, right only": {"mouthSmileRight": 1.0},
    "AU14R dimpler, right only": {"mouthDimpleRight": 1.0},
    "AU15 lip corner depressor": {"mouthFrownLeft": 1.0, "mouthFrownRight": 1.0},
    "AU16 lower lip depressor": {"mouthLowerDownLeft": 1.0, "mouthLowerDownRight": 1.0},
    "AU17 chin raiser": {"mouthShrugLower": 1.0},
    "AU20 lip stretcher": {"mouthStretchLeft": 1.0, "mouthStretchRight": 1.0},
    "AU23 lip tightener": {"mouthPressLeft": 0.6, "mouthPressRight": 0.6, "mouthRollLower": 0.3, "mouthRollUpper": 0.3},
    "AU24 lip pressor": {"mouthPressLeft": 1.0, "mouthPressRight": 1.0},
    "AU26 jaw drop": {"jawOpen": 1.0},
    # Further AUs used by the action-level descriptions (data/descriptions.py) and the corpus.
    "AU2R outer brow raiser, right only": {"browOuterUpRight": 1.0},
    "AU4L brow lowerer, left only": {"browDownLeft": 1.0},
    "AU10R upper lip raiser, right only": {"mouthUpperUpRight": 1.0, "noseSneerRight": 0.4},
    "AU13 cheek puffer": {"cheekPuff": 1.0},
    "AU14 dimpler": {"mouthDimpleLeft": 1.0, "mouthDimpleRight": 1.0},
    "AU18 lip pucker": {"mouthPucker": 1.0},
    "AU22 lip funneler": {"mouthFunnel": 1.0},
    "AU25 lips part": {"mouthLowerDownLeft": 0.3, "mouthLowerDownRight": 0.3, "mouthUpperUpLeft": 0.2, "mouthUpperUpRight": 0.2},
    "AU27 mouth stretch": {"jawOpen": 1.0, "mouthStretchLeft": 0.3, "mouthStretchRight": 0.3},
    "AU28 lip suck": {"mouthRollLower": 1.0, "mouthRollUpper": 1.0},
    "AU43 eyes closed": {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0},
    "AU46R wink, right eye": {"eyeBlinkRight": 1.0, "cheekSquintRight": 0.5},
    "AU61 eyes turned left": {"eyeLookOutLeft": 1.0, "eyeLookInRight": 1.0},
    "AU64 eyes down": {"eyeLookDownLeft": 1.0, "eyeLookDownRight": 1.0},
}

# Emotion -> AU strengths at full intensity (EMFACS prototypes; MEAD's eight emotions).
EMOTION_AUS: dict[str, dict[str, float]] = {
    "neutral": {},
    # Duchenne smile: cheeks raised with the lip corners.
    "happy": {"AU6 cheek raiser": 0.75, "AU12 lip corner puller": 0.9},
    # Inner brows up, corners down, chin raised, lids a little heavy (EMFACS 1+4+15(+17)).
    "sad": {
        "AU1 inner brow raiser": 1.0, "AU4 brow lowerer": 0.35, "AU15 lip corner depressor": 0.9,
        "AU17 chin raiser": 0.5, "AU43 eyes closed": 0.15, "AU64 eyes down": 0.2,
    },  # fmt: skip
    "surprised": {"AU1 inner brow raiser": 1.0, "AU2 outer brow raiser": 1.0, "AU5 upper lid raiser": 1.0, "AU26 jaw drop": 0.35},
    # Brows raised and pulled together, upper lids up, lips stretched (EMFACS 1+2+4+5+20+26).
    "fearful": {
        "AU1 inner brow raiser": 1.0, "AU2 outer brow raiser": 0.6, "AU4 brow lowerer": 0.45,
        "AU5 upper lid raiser": 1.0, "AU7 lid tightener": 0.2, "AU20 lip stretcher": 0.9, "AU26 jaw drop": 0.2,
    },  # fmt: skip
    # Brows down and together, glaring lids, tightened and pressed lips (EMFACS 4+5+7+23/24).
    "angry": {
        "AU4 brow lowerer": 1.0, "AU5 upper lid raiser": 0.4, "AU7 lid tightener": 0.7,
        "AU23 lip tightener": 0.7, "AU24 lip pressor": 0.4, "AU9 nose wrinkler": 0.3,
    },  # fmt: skip
    # Nose wrinkle and upper-lip raise (EMFACS 9+15+16 / 10), brows lowered.
    "disgusted": {
        "AU9 nose wrinkler": 0.9, "AU10 upper lip raiser": 0.65, "AU15 lip corner depressor": 0.45,
        "AU16 lower lip depressor": 0.3, "AU4 brow lowerer": 0.45, "AU6 cheek raiser": 0.3,
    },  # fmt: skip
    # Unilateral lip-corner tightening and raising (EMFACS R12A+R14A).
    "contempt": {"AU12R lip corner puller, right only": 0.7, "AU14R dimpler, right only": 0.8, "AU7 lid tightener": 0.2},
}
EMOTIONS = list(EMOTION_AUS)

# MEAD's intensity levels (1 weak, 2 medium, 3 strong; neutral has none) as prototype scales.
INTENSITY_SCALE: dict[int, float] = {0: 0.0, 1: 0.45, 2: 0.7, 3: 1.0}


def au_weights(aus: dict[str, float]) -> np.ndarray:
    """AU strengths -> ARKit weights (52,), clipped to [0, 1]."""
    w = np.zeros(NUM_BLENDSHAPES, dtype=np.float32)
    for au, strength in aus.items():
        for name, value in AU_TO_ARKIT[au].items():
            w[INDEX[name]] += strength * value
    return np.clip(w, 0.0, 1.0)


def emotion_weights(emotion: str, intensity: float = 1.0) -> np.ndarray:
    """The ARKit weights (52,) of an emotion's prototype, scaled by intensity in [0, 1]."""
    if emotion not in EMOTION_AUS:
        raise ValueError(f"unknown emotion {emotion!r}; expected one of {', '.join(EMOTIONS)}")
    return au_weights(EMOTION_AUS[emotion]) * float(np.clip(intensity, 0.0, 1.0))
