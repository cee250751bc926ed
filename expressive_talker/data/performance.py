"""A whole facial performance for one clip: lips from phones plus a living FACS expression.

The expression comes from the FACS table in ``face/expressions.py`` (emotion -> AUs -> ARKit)
and is made alive: it ramps in and out, each AU drifts slowly on its own, every clip varies the
AU strengths and the left/right balance, the eyes blink at a natural, emotion-dependent rate and
the brows move on stressed syllables. The expression then interacts with speech: a smile gives
way to lip rounding and widens spread vowels, lip pressing yields to an open jaw, anger and
surprise articulate with a larger jaw, sadness with a smaller one, and nothing an expression
does may keep the lips from closing on p, b and m.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..audio.io import SAMPLE_RATE
from ..face.expressions import AU_TO_ARKIT, EMOTION_AUS, INTENSITY_SCALE
from ..face.rig import INDEX, NUM_BLENDSHAPES
from . import lips
from .phones import VOWELS
from .tts import Prosody


@dataclass(frozen=True)
class EmotionStyle:
    prosody: Prosody  # at full intensity; weaker levels interpolate from neutral
    jaw_gain: float  # articulation amplitude at full intensity
    blinks_per_min: float
    brow_accent: str  # "up" raises the brows on stressed syllables, "down" knits them


# Vocal correlates after Scherer (2003) / Juslin & Laukka (2003): anger and joy are faster,
# higher and louder; sadness slower, lower, flatter and quieter; fear fast and high but less
# loud; disgust and contempt slower and lower.
STYLES: dict[str, EmotionStyle] = {
    "neutral": EmotionStyle(Prosody(), 1.0, 17, "up"),
    "angry": EmotionStyle(Prosody(rate=1.12, pitch=2.0, range=1.35, gain_db=5.0), 1.2, 12, "down"),
    "disgusted": EmotionStyle(Prosody(rate=0.86, pitch=-1.5, range=1.1, gain_db=0.0), 0.85, 16, "down"),
    "contempt": EmotionStyle(Prosody(rate=0.9, pitch=-1.0, range=0.85, gain_db=-1.0), 0.85, 14, "up"),
    "fearful": EmotionStyle(Prosody(rate=1.15, pitch=3.5, range=0.8, gain_db=-2.0), 0.9, 26, "up"),
    "happy": EmotionStyle(Prosody(rate=1.08, pitch=3.0, range=1.45, gain_db=2.5), 1.05, 18, "up"),
    "sad": EmotionStyle(Prosody(rate=0.78, pitch=-2.5, range=0.6, gain_db=-5.0), 0.7, 12, "up"),
    "surprised": EmotionStyle(Prosody(rate=1.0, pitch=4.5, range=1.6, gain_db=3.0), 1.2, 10, "up"),
}


def prosody_for(emotion: str, level: int, rng: np.random.Generator) -> Prosody:
    """The prosody of an emotion at MEAD level 0-3, with a little per-clip jitter."""
    full, k = STYLES[emotion].prosody, INTENSITY_SCALE[level]
    return Prosody(
        rate=float(full.rate**k * np.exp(rng.normal(0, 0.03))),
        pitch=float(full.pitch * k + rng.normal(0, 0.4)),
        range=float(full.range**k),
        gain_db=float(full.gain_db * k + rng.normal(0, 0.5)),
    )


def phone_loudness(wave: np.ndarray, phones) -> np.ndarray:
    """Per phone, loudness relative to the clip's median vowel (1 = average, 0.7-1.3)."""
    db = np.zeros(len(phones))
    for i, (_, t0, t1) in enumerate(phones):
        seg = wave[int(t0 * SAMPLE_RATE) : max(int(t1 * SAMPLE_RATE), int(t0 * SAMPLE_RATE) + 1)]
        db[i] = 10 * np.log10(np.mean(seg.astype(np.float64) ** 2) + 1e-10)
    vowel = np.array([p in VOWELS for p, _, _ in phones])
    ref = np.median(db[vowel]) if vowel.any() else np.median(db)
    return np.clip(1.0 + (db - ref) / 20.0, 0.7, 1.3)


def stressed_times(phones, loudness, min_gap: float = 0.4) -> list[float]:
    """Centres of the most prominent vowels (loudness times duration), spaced apart."""
    cand = [(g * (t1 - t0), 0.5 * (t0 + t1)) for (p, t0, t1), g in zip(phones, loudness) if p in VOWELS]
    if not cand:
        return []
    cut = np.quantile([s for s, _ in cand], 0.65)
    chosen: list[float] = []
    for score, t in sorted(cand, reverse=True):
        if score >= cut and all(abs(t - u) >= min_gap for u in chosen):
            chosen.append(t)
    return sorted(chosen)


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _drift(t, rng, depth):
    """Slow random modulation around 1 (three sines between 0.07 and 0.45 Hz)."""
    f = rng.uniform(0.07, 0.45, 3)
    ph = rng.uniform(0, 2 * np.pi, 3)
    a = rng.uniform(0.5, 1.0, 3)
    return 1.0 + depth * (a[:, None] * np.sin(2 * np.pi * f[:, None] * t[None] + ph[:, None])).sum(0) / a.sum()


def _pulse(t, centre, width):
    """Raised-cosine bump of total width ``width`` seconds."""
    x = np.clip((t - centre) / (0.5 * width), -1, 1)
    return 0.5 * (1 + np.cos(np.pi * x))


def blink_curve(n_frames: int, fps: float, per_minute: float, rng: np.random.Generator) -> np.ndarray:
    """Eye closure (T,) with blinks at a gamma-distributed interval: fast close, slower open."""
    t = np.arange(n_frames) / fps
    out = np.zeros(n_frames)
    mean = 60.0 / per_minute
    at = rng.uniform(0.1, mean)
    while at < t[-1] if n_frames else False:
        close, hold, opening = rng.uniform(0.06, 0.09), rng.uniform(0.0, 0.04), rng.uniform(0.12, 0.2)
        depth = rng.uniform(0.85, 1.0)
        x = t - at
        shape = np.where(x < 0, 0, np.where(x < close, x / close, np.where(x < close + hold, 1, 1 - (x - close - hold) / opening)))
        out = np.maximum(out, depth * _smoothstep(shape))
        at += close + hold + opening + rng.gamma(4.0, mean / 4.0)
    return out


def expression_track(aus: dict[str, float], strength: float, n_frames: int, fps: float, rng: np.random.Generator, accents=(), style: EmotionStyle = STYLES["neutral"]) -> np.ndarray:
    """A living expression (T,52): the AU combination at ``strength`` with ramps, drift, blinks, accents."""
    t = np.arange(n_frames) / fps
    dur = n_frames / fps
    # Onset and offset: the face starts part-way into the expression and relaxes a little at the end.
    onset, offset = rng.uniform(0.25, 0.7), rng.uniform(0.3, 0.6)
    start, end = rng.uniform(0.5, 0.8), rng.uniform(0.75, 0.95)
    env = start + (1 - start) * _smoothstep(t / onset)
    env *= 1 - (1 - end) * _smoothstep((t - (dur - offset)) / offset)
    side = 1.0 + rng.normal(0, 0.06)  # left/right balance of this clip
    w = np.zeros((n_frames, NUM_BLENDSHAPES))
    for au, s in aus.items():
        vec = np.zeros(NUM_BLENDSHAPES)
        for name, val in AU_TO_ARKIT[au].items():
            vec[INDEX[name]] = val * (side if name.endswith("Left") else 2 - side if name.endswith("Right") else 1.0)
        s_clip = s * strength * float(np.exp(rng.normal(0, 0.12)))  # per-clip AU variation
        w += (s_clip * env * _drift(t, rng, 0.12))[:, None] * vec[None]
    # Brow accents on stressed syllables, scaled down when the brows are already busy.
    for c in accents:
        amp = rng.uniform(0.08, 0.2)
        bump = amp * _pulse(t, c + rng.uniform(-0.05, 0.03), rng.uniform(0.3, 0.45))
        if style.brow_accent == "up":
            w[:, INDEX["browInnerUp"]] += bump
            w[:, INDEX["browOuterUpLeft"]] += 0.6 * bump
            w[:, INDEX["browOuterUpRight"]] += 0.6 * bump
        else:
            w[:, INDEX["browDownLeft"]] += bump
            w[:, INDEX["browDownRight"]] += bump
    # Blinks close the lids over whatever the eyes were doing, and widening yields to them.
    blink = blink_curve(n_frames, fps, style.blinks_per_min * float(np.exp(rng.normal(0, 0.2))), rng)
    for side_name in ("Left", "Right"):
        b, wide = INDEX["eyeBlink" + side_name], INDEX["eyeWide" + side_name]
        w[:, b] = w[:, b] + (1 - w[:, b]) * blink
        w[:, wide] *= 1 - blink
    return np.clip(w, 0.0, 1.0).astype(np.float32)


def compose(art: np.ndarray, expr: np.ndarray, jaw_gain: float = 1.0, seal_overshoot: float = 0.0) -> np.ndarray:
    """Articulation channels (T,C) + expression (T,52) -> final ARKit weights (T,52);
    ``seal_overshoot``: see ``lips.seal_weight``."""
    ch = {c: art[:, i] for i, c in enumerate(lips.CHANNELS)}
    expr = expr.copy()
    extra_jaw = expr[:, INDEX["jawOpen"]].copy()
    expr[:, INDEX["jawOpen"]] = 0.0
    mouth = lips.articulation_to_arkit(art, jaw_gain, extra_jaw=extra_jaw)
    jaw, seal, rounding = mouth[:, INDEX["jawOpen"]], ch["seal"], np.maximum(ch["pucker"], ch["funnel"])
    for s in ("Left", "Right"):
        smile = expr[:, INDEX["mouthSmile" + s]].copy()
        expr[:, INDEX["mouthSmile" + s]] = smile * (1 - 0.6 * rounding)  # rounding fights the smile
        mouth[:, INDEX["mouthStretch" + s]] += 0.5 * smile * ch["stretch"]  # ... and a smile widens spread vowels
        expr[:, INDEX["mouthPress" + s]] *= 1 - 0.8 * jaw  # pressed lips yield to an open jaw
        for name in ("mouthUpperUp", "mouthLowerDown", "mouthStretch"):
            expr[:, INDEX[name + s]] *= 1 - seal  # the lips still meet for p, b, m
    for name in ("mouthFunnel", "mouthShrugUpper"):
        expr[:, INDEX[name]] *= 1 - seal
    w = np.clip(mouth + expr, 0.0, 1.0)
    w[:, INDEX["mouthClose"]] = lips.seal_weight(seal, w[:, INDEX["jawOpen"]], seal_overshoot)
    return w.astype(np.float32)


def perform(phones, wave: np.ndarray, emotion: str, level: int, rng: np.random.Generator, fps: float = 30.0, aus: dict[str, float] | None = None, seal_overshoot: float = 0.0, jaw_scale: float = 1.0) -> np.ndarray:
    """Phones + audio + emotion (or an explicit AU combination) -> ARKit weights (T,52) at ``fps``;
    ``jaw_scale`` widens (or narrows) every jaw opening (``corpus.rebuild_lips``)."""
    n_frames = int(round(len(wave) / SAMPLE_RATE * fps))
    style = STYLES[emotion]
    strength = INTENSITY_SCALE[level] if aus is None else 1.0
    aus = EMOTION_AUS[emotion] if aus is None else aus
    loud = phone_loudness(wave, phones)
    art = lips.articulation(phones, n_frames, fps, loud)
    expr = expression_track(aus, strength, n_frames, fps, rng, stressed_times(phones, loud), style)
    jaw_gain = 1.0 + (style.jaw_gain - 1.0) * INTENSITY_SCALE[level]
    return compose(art, expr, jaw_scale * jaw_gain * float(np.exp(rng.normal(0, 0.05))), seal_overshoot)
