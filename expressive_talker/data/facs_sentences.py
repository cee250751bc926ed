"""Face-action sentences composed from FACS: what each action unit does to the face, in words.

The hand-written face sentences (``descriptions.FACE_SENTENCES``) are few per emotion, so an
encoder tuned on them learns their wording rather than the anatomy: "the inner ends of the brows
rise and the mouth corners droop" reads as fear. Here every action unit of an emotion's prototype
(``face/expressions.EMOTION_AUS``) has several plain-English phrasings of its visible movement
(after the FACS descriptions of appearance changes), and a sentence joins two or three of them.
A sentence is kept only when its units point at its emotion more than at any other, so that
"the brows are lowered" alone (anger, fear, sadness and disgust all lower them) is never taught
as one of them.

These sentences are training text only: they never enter the held-out descriptions, which stay
the hand-written ones.
"""

from __future__ import annotations

import functools

import numpy as np

from ..face.expressions import EMOTION_AUS

# Visible movement of each action unit, several ways. Units that share a look share phrasings
# (AU23 and AU24 both press the lips; AU12R and AU14R are one lopsided corner).
AU_PHRASES: dict[str, tuple[str, ...]] = {
    "AU1 inner brow raiser": (
        "the inner corners of the eyebrows are raised",
        "the middle of the brows lifts",
        "the brows slant upward toward the nose",
        "the inner brows pull up",
    ),
    "AU2 outer brow raiser": (
        "the outer ends of the brows go up",
        "the eyebrows arch",
        "the brow tails lift toward the temples",
    ),
    "AU4 brow lowerer": (
        "the eyebrows are drawn down and together",
        "the brows knit",
        "vertical lines appear between the eyebrows",
        "the brows come down over the eyes",
    ),
    "AU5 upper lid raiser": (
        "the upper eyelids are pulled up",
        "the eyes open wide",
        "the whites of the eyes show above the irises",
    ),
    "AU6 cheek raiser": (
        "the cheeks lift",
        "crow's feet crinkle at the outer corners of the eyes",
        "the cheeks bunch up beneath the eyes",
        "the eyes crinkle above the lifted cheeks",
    ),
    "AU7 lid tightener": (
        "the eyelids tighten",
        "the eyes narrow",
        "the lower lids are tense and drawn up",
    ),
    "AU9 nose wrinkler": (
        "the nose wrinkles",
        "the skin on the bridge of the nose bunches up",
        "the nostrils are pulled upward",
    ),
    "AU10 upper lip raiser": (
        "the upper lip is pulled up",
        "the upper lip lifts to show the top teeth",
        "the upper lip rises toward the nose",
    ),
    "AU12 lip corner puller": (
        "the corners of the mouth pull up and back",
        "the lip corners turn upward",
        "the mouth curves up at both ends",
    ),
    "AU12R lip corner puller, right only": (
        "one corner of the mouth tightens and lifts",
        "the mouth rises at one side only",
        "a lopsided half-smile appears",
    ),
    "AU14R dimpler, right only": (
        "a dimple forms at one corner of the mouth",
        "one lip corner is pulled in tight",
        "the mouth is tucked in on one side",
    ),
    "AU15 lip corner depressor": (
        "the corners of the mouth turn down",
        "the lip corners sink",
        "the mouth bends downward at the ends",
    ),
    "AU16 lower lip depressor": (
        "the lower lip is pulled down",
        "the lower lip drops away from the teeth",
    ),
    "AU17 chin raiser": (
        "the chin pushes up",
        "the chin puckers and the lower lip pouts",
        "the skin of the chin wrinkles",
    ),
    "AU20 lip stretcher": (
        "the lips are stretched sideways",
        "the mouth is pulled wide and tense",
        "the lips draw back horizontally",
    ),
    "AU23 lip tightener": (
        "the lips tighten and narrow",
        "the lips are pressed into a thin line",
        "the mouth is held tight",
    ),
    "AU24 lip pressor": (
        "the lips press firmly together",
        "the lips are clamped shut between words",
    ),
    "AU26 jaw drop": (
        "the jaw drops",
        "the mouth falls open",
    ),
    "AU43 eyes closed": (
        "the eyelids droop",
        "the eyes are half lidded",
    ),
    "AU64 eyes down": (
        "the gaze drops",
        "the eyes look downward",
    ),
}

NEUTRAL_PHRASES: tuple[str, ...] = (
    "the brows rest level",
    "the eyelids are neither wide nor narrowed",
    "the mouth corners stay where they are",
    "the cheeks are slack",
    "no wrinkles mark the forehead",
    "the lips are loose and only shape the words",
    "the eyes look straight ahead without strain",
    "no muscle in the face is tensed",
)

TEMPLATES: tuple[str, ...] = ("{a} and {b}", "{a}, while {b}", "{a}; {b}", "as {a}, {b}", "{a}, {b} and {c}", "{a}, and {b}", "{a} as {b}")

MIN_STRENGTH = 0.5  # weaker units are side notes of a prototype (sadness lowers the brows a little)


def _profiles() -> tuple[list[str], list[str], np.ndarray]:
    """Emotions with action units, the units, and the strength matrix [emotion, unit]."""
    emotions = [e for e, aus in EMOTION_AUS.items() if aus]
    units = sorted({au for e in emotions for au in EMOTION_AUS[e]})
    strength = np.array([[EMOTION_AUS[e].get(au, 0.0) for au in units] for e in emotions])
    return emotions, units, strength


def _points_at(units: list[str], emotion: str) -> bool:
    """Whether these units, described together, match ``emotion`` best of all prototypes
    (cosine of the described-units indicator with each prototype's strengths)."""
    emotions, all_units, strength = _profiles()
    shown = np.array([au in units for au in all_units], dtype=float)
    cosine = strength @ shown / np.linalg.norm(strength, axis=1) / np.linalg.norm(shown)
    best = np.argsort(cosine)[::-1]
    return emotions[best[0]] == emotion and cosine[best[0]] - cosine[best[1]] > 0.05


def _sentence(phrases: list[str], rng: np.random.Generator) -> str:
    template = str(rng.choice([t for t in TEMPLATES if t.count("{") == len(phrases)]))
    text = template.format(**dict(zip("abc", phrases)))
    return text[0].upper() + text[1:] + "."


@functools.lru_cache(maxsize=None)
def facs_sentences(emotion: str, count: int, seed: int = 0) -> tuple[str, ...]:
    """Up to ``count`` distinct face-action sentences for ``emotion`` (fewer if its units allow
    fewer), deterministic for a seed."""
    rng = np.random.default_rng(seed)
    units = [au for au, s in EMOTION_AUS[emotion].items() if s >= MIN_STRENGTH and au in AU_PHRASES]
    out: set[str] = set()
    for _ in range(count * 20):
        if len(out) >= count:
            break
        if emotion == "neutral":
            phrases = list(rng.choice(NEUTRAL_PHRASES, size=int(rng.integers(2, 4)), replace=False))
        else:
            picked = list(rng.choice(units, size=min(len(units), int(rng.integers(2, 4))), replace=False))
            if not _points_at(picked, emotion):
                continue
            phrases = [str(rng.choice(AU_PHRASES[au])) for au in picked]
        out.add(_sentence(phrases, rng))
    return tuple(sorted(out))
