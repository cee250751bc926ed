"""``python -m expressive_talker evaluate-lipsync``: how well each method's lips follow real speech.

A data folder holds clips as ``NAME.wav`` plus ``NAME.phones.json``, a list of
``[start_s, end_s, phone]`` in lower-case ARPAbet without stress digits (``pau`` for silence).
Each method animates every clip with a neutral prompt; its RAW output (no motion layer, as
``evaluate`` measures it) is read through the midline lip gap and the solved jaw, and scored
by ``metrics.py``.
The ``oracle`` row is the training corpus's own lip generator (``data/lips.py``, with the same
per-phone loudness the corpus uses) driven by the clip's phones: what a model that learned the
corpus perfectly would do.
"""

from __future__ import annotations

import glob
import json
import math
import os
import time

import numpy as np
from tqdm import tqdm

from ..audio.io import SAMPLE_RATE
from ..data.phones import ARPABET
from ..errors import InputError
from . import metrics

ORACLE = "oracle"
END_TOLERANCE_S = 0.05  # phones may end this far past the audio (rounding), no further
PROMPT = "neutral"  # text-driven methods speak with a neutral face


def read_phones(path: str) -> list[tuple[float, float, str]]:
    """A ``NAME.phones.json`` file -> [(start_s, end_s, phone)]; InputError on any other shape."""
    name = os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as f:
            rows = json.load(f)
    except FileNotFoundError:
        raise InputError(f"missing phones file {name} (every NAME.wav needs a NAME.phones.json)") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(rows, list) or not rows:
        raise InputError(f"{name} must hold a non-empty list of [start_s, end_s, phone]")
    phones = []
    for i, row in enumerate(rows):
        ok = isinstance(row, list) and len(row) == 3 and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in row[:2]) and isinstance(row[2], str)
        if not ok or not (math.isfinite(row[0]) and math.isfinite(row[1]) and 0 <= row[0] < row[1]):
            raise InputError(f"{name}, entry {i}: expected [start_s, end_s, phone] with 0 <= start_s < end_s, got {row!r}")
        if row[2] not in ARPABET:
            raise InputError(f"{name}, entry {i}: {row[2]!r} is not a lower-case ARPAbet phone without stress digits")
        phones.append((float(row[0]), float(row[1]), row[2]))
    return phones


def read_clips(data_dir: str) -> list[tuple[str, str, list]]:
    """[(name, wav path, phones)] of every ``NAME.wav`` in ``data_dir``, in name order."""
    if not os.path.isdir(data_dir):
        raise InputError(f"no such data folder: {data_dir}")
    wavs = sorted(glob.glob(os.path.join(glob.escape(data_dir), "*.wav")))
    if not wavs:
        raise InputError(f"{data_dir} holds no NAME.wav clips")
    return [(os.path.basename(w)[:-4], w, read_phones(w[:-4] + ".phones.json")) for w in wavs]


def oracle_vertices(rig, wave: np.ndarray, phones, n_frames: int, fps: float) -> np.ndarray:
    """The corpus lip generator's face (T,V,3) for these phones and this audio."""
    from ..data.lips import lip_curves
    from ..data.performance import phone_loudness

    seconds = len(wave) / SAMPLE_RATE  # a phone may end a little past the audio: cut it there
    as_corpus = [(p, t0, min(t1, seconds)) for t0, t1, p in phones if t0 < seconds]  # the corpus's order: (name, start, end)
    return rig.pose(lip_curves(as_corpus, n_frames, fps, loudness=phone_loudness(wave, as_corpus)))


def evaluate_lipsync(data_dir: str, methods=("ours", "expclip", "faceformer"), weights_dir: str | None = None, progress: bool = True) -> dict:
    """Scores per method (and the oracle) over the clips in ``data_dir``; see ``metrics.py``."""
    from ..audio import load_audio
    from ..data.lips import LipGap
    from ..face.rig import INDEX, load_rig
    from ..pipeline import WEIGHTS_DIR, load_animator, speech_features, text_feature
    from ..render.video import frame_count

    clips = read_clips(data_dir)
    animators = {m: load_animator(m, weights_dir or WEIGHTS_DIR) for m in methods}  # unknown methods fail first
    rig = load_rig()
    gap = LipGap(rig, midline=True)
    waves = {name: load_audio(path, max_seconds=600.0) for name, path, _ in clips}
    for name, _, phones in clips:
        seconds = len(waves[name]) / SAMPLE_RATE
        if phones[-1][1] > seconds + END_TOLERANCE_S:
            raise InputError(f"{name}.phones.json runs to {phones[-1][1]:.2f} s but {name}.wav lasts {seconds:.2f} s")
    results = {"data": os.path.abspath(data_dir), "clips": len(clips), "seconds": round(sum(len(w) for w in waves.values()) / SAMPLE_RATE, 1), "methods": {}}
    for method in [*methods, ORACLE]:
        started = time.perf_counter()
        events, corrs, jaw_corrs, per_clip = [], [], [], {}
        animator = animators.get(method)
        text = text_feature(animator, PROMPT)[0] if animator is not None and animator.uses_text else None
        for name, _, phones in tqdm(clips, desc=f"lipsync {method}", disable=not progress):
            wave = waves[name]
            fps = animator.fps if animator is not None else 30.0
            frames = frame_count(wave, int(round(fps)))
            if animator is None:
                vertices = oracle_vertices(rig, wave, phones, frames, fps)
            else:
                vertices = animator.animate(speech_features(animator, wave), text, frames)
            g = gap.of_vertices(vertices)
            loudness = metrics.envelope(wave, len(g), fps)
            events.append(metrics.clip_events(g, phones, fps))
            corrs.append(metrics.correlation(g, loudness))
            jaw_corrs.append(metrics.correlation(rig.solve(vertices)[:, INDEX["jawOpen"]], loudness))
            clip = metrics.summarize(events[-1:], corrs[-1:], jaw_corrs[-1:])
            per_clip[name] = {k: clip[k] for k in ("bilabials", "closure_rate", "open_gap_mm", "envelope_corr", "jaw_envelope_corr")}
        row = metrics.summarize(events, corrs, jaw_corrs)
        row["seconds"] = round(time.perf_counter() - started, 2)
        row["per_clip"] = per_clip
        results["methods"][method] = row
    return results
