"""Lip-sync scores of one lip-gap track against its phones, with their formulas.

Every score reads the midline lip gap ``g_t`` (mm, ``LipGap(rig, midline=True)``: 0 is the
rig's closed mouth) at 30 fps, frame ``t`` sitting at time ``t / fps``. A phone spanning
``[t0, t1]`` s owns the frames ``W = {ceil(t0·fps) - 1, ..., floor(t1·fps) + 1}``: the frames
inside it plus one either side, which tolerates an aligner's one-frame error.

- ``bilabials``: the number of p, b, m phones.
- ``closure_rate``: the share of bilabials whose lips close, ``min_{t in W} g_t <= 1.5`` mm.
- ``median_min_gap_mm``: the median over bilabials of ``min_{t in W} g_t``.
- ``open_gap_mm``: the mean over open vowels (aa ae ah ao aw ay) of ``max_{t in W} g_t``.
- ``envelope_corr``: per clip, Pearson's r between ``g_t`` and the audio's loudness envelope
  ``e_t`` (RMS of the 16 kHz waveform over the 1/fps window starting at frame t), then the mean
  over clips.
- ``jaw_envelope_corr``: the same with the jaw instead of the lip gap: the ``jawOpen`` weight
  that best explains each frame's vertices (``FaceRig.solve``) against ``e_t``.
"""

from __future__ import annotations

import math

import numpy as np

from ..audio.io import SAMPLE_RATE
from ..data.lips import BILABIALS, CLOSED_GAP_MM

OPEN_VOWELS = frozenset({"aa", "ae", "ah", "ao", "aw", "ay"})


def phone_window(t0: float, t1: float, n_frames: int, fps: float) -> np.ndarray:
    """Frame indices of a phone ``[t0, t1]`` s plus one frame either side, clipped to the clip."""
    lo = math.ceil(t0 * fps - 1e-9) - 1
    hi = math.floor(t1 * fps + 1e-9) + 1
    return np.arange(max(lo, 0), min(hi, n_frames - 1) + 1)


def envelope(wave: np.ndarray, n_frames: int, fps: float) -> np.ndarray:
    """(n_frames,) RMS of the 16 kHz waveform over each frame's 1/fps window."""
    hop = SAMPLE_RATE / fps
    out = np.zeros(n_frames)
    for t in range(n_frames):
        seg = wave[int(round(t * hop)) : int(round((t + 1) * hop))]
        out[t] = np.sqrt(np.mean(np.square(seg, dtype=np.float64))) if len(seg) else 0.0
    return out


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson's r; 0 when either signal is constant (no motion follows nothing)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    n = min(len(a), len(b))
    a, b = a[:n] - a[:n].mean(), b[:n] - b[:n].mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def clip_events(gap: np.ndarray, phones, fps: float) -> dict:
    """The per-phone readings of one clip: the minimum gap at each bilabial, the maximum at each
    open vowel (mm)."""
    gap = np.asarray(gap, np.float64)
    mins, maxes = [], []
    for t0, t1, phone in phones:
        window = phone_window(t0, t1, len(gap), fps)
        if len(window) == 0:
            continue
        if phone in BILABIALS:
            mins.append(float(gap[window].min()))
        elif phone in OPEN_VOWELS:
            maxes.append(float(gap[window].max()))
    return {"bilabial_min_gaps": mins, "open_max_gaps": maxes}


def summarize(events: list[dict], correlations: list[float], jaw_correlations: list[float] = ()) -> dict:
    """Pool the readings of every clip into the scores of the module doc."""
    mins = np.array([g for e in events for g in e["bilabial_min_gaps"]])
    maxes = np.array([g for e in events for g in e["open_max_gaps"]])
    return {
        "bilabials": int(len(mins)),
        "closure_rate": float((mins <= CLOSED_GAP_MM).mean()) if len(mins) else None,
        "median_min_gap_mm": float(np.median(mins)) if len(mins) else None,
        "open_vowels": int(len(maxes)),
        "open_gap_mm": float(maxes.mean()) if len(maxes) else None,
        "envelope_corr": float(np.mean(correlations)) if len(correlations) else None,
        "jaw_envelope_corr": float(np.mean(jaw_correlations)) if len(jaw_correlations) else None,
    }
