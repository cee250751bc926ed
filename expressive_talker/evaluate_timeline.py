"""``python -m expressive_talker evaluate-timeline``: does a timeline of prompts change the face
when it says, and leave the lips alone? Prints JSON.

On about 10 s of real speech (the ``evaluate-lipsync`` folder's clips end to end, longest first,
cut at ``SECONDS``), for every ordered pair of the 8 emotions (prompt = the emotion word, the
second from ``SWITCH_S``), on the model's raw output (``still``):

- ``read_both``: the share of pairs where ``metrics.read_expression`` reads the first emotion over
  1-4 s and the second over 6-9 s.
- ``completion_frames``: from the switch, the first frame after which the expression channels
  (``face.readout.EXPRESSION_CHANNELS``) stay within ``DONE_SHARE`` of the way from the first
  emotion's single-prompt output to the second's (their distance per frame, averaged over the
  clip, is the way); median, smallest and largest against the ease in frames.
- ``largest_step_mm``: the largest distance any vertex moves from one frame to the next in the
  timeline clips, against the largest in the 8 single-prompt clips of the same audio.
- ``lips``: on voiced frames, the mean lip-vertex distance (mm) to the single-prompt outputs,
  each prompt's in its own stretch and, during the ease, the two blended by the timeline's
  weights (``lip_distance_mm``, mean and largest pair); ``outside_ease_mm``: the same on the
  frames outside the ease.
"""

from __future__ import annotations

import glob
import os

import numpy as np
from tqdm import tqdm

from .audio import SAMPLE_RATE, load_audio
from .face.expressions import EMOTIONS
from .face.motion import voice_activity
from .face.readout import EXPRESSION_CHANNELS, read_expression
from .face.rig import load_rig
from .pipeline import WEIGHTS_DIR, animate_speech
from .text.timeline import EASE_S, Timeline

SECONDS, SWITCH_S = 10.0, 5.0
FIRST_S, SECOND_S = (1.0, 4.0), (6.0, 9.0)
DONE_SHARE = 0.02


def real_speech(data_dir: str, seconds: float = SECONDS) -> np.ndarray:
    """The folder's clips end to end, longest first, cut at ``seconds``."""
    waves = sorted((load_audio(p) for p in glob.glob(os.path.join(data_dir, "*.wav"))), key=len, reverse=True)
    wave = np.concatenate(waves)[: int(seconds * SAMPLE_RATE)] if waves else np.zeros(0, np.float32)
    if len(wave) < seconds * SAMPLE_RATE:
        raise SystemExit(f"{data_dir} holds less than {seconds:g} s of speech")
    return wave


def evaluate_timeline(data_dir: str, methods=("ours", "expclip"), weights_dir: str = WEIGHTS_DIR, ease_s: float = EASE_S, progress: bool = True) -> dict:
    wave = real_speech(data_dir)
    rig = load_rig()
    lips = rig.lip_indices
    out = {"seconds": SECONDS, "switch_s": SWITCH_S, "ease_s": ease_s, "pairs": len(EMOTIONS) * (len(EMOTIONS) - 1)}
    for method in methods:
        single = {e: animate_speech(wave, e, method, weights_dir=weights_dir, still=True) for e in EMOTIONS}
        fps = single[EMOTIONS[0]].fps
        frames = len(single[EMOTIONS[0]].vertices)
        weights = {e: a.arkit_weights() for e, a in single.items()}
        voiced = voice_activity(wave, fps, frames)
        switch, ease = int(round(SWITCH_S * fps)), ease_s * fps
        first, second = (slice(int(a * fps), int(b * fps)) for a, b in (FIRST_S, SECOND_S))
        outside = np.ones(frames, bool)
        outside[switch : int(np.ceil(switch + ease)) + 1] = False
        both, done, steps, lip_all, lip_out = 0, [], [], [], []
        pairs = [(a, b) for a in EMOTIONS for b in EMOTIONS if a != b]
        for a, b in tqdm(pairs, desc=method, disable=not progress):
            timeline = Timeline.make(a, [(SWITCH_S, b)], ease_s)
            animation = animate_speech(wave, None, method, weights_dir=weights_dir, still=True, timeline=timeline)
            w = animation.arkit_weights()
            both += read_expression(w[first])[0] == a and read_expression(w[second])[0] == b
            ea, eb, e = (x[:, EXPRESSION_CHANNELS] for x in (weights[a], weights[b], w))
            way = np.linalg.norm(ea - eb, axis=1).mean()
            off = np.linalg.norm(e - eb, axis=1) / way > DONE_SHARE
            late = np.flatnonzero(off[switch:])
            done.append(int(late[-1] + 1) if len(late) else 0)
            steps.append(_largest_step(animation.vertices))
            blend = timeline.weights(fps, frames)  # (T,2): a, b
            reference = blend[:, :1, None] * single[a].vertices[:, lips] + blend[:, 1:, None] * single[b].vertices[:, lips]
            distance = np.linalg.norm(animation.vertices[:, lips] - reference, axis=-1).mean(axis=1)
            lip_all.append(distance[voiced].mean())
            lip_out.append(distance[voiced & outside].mean())
        out[method] = {
            "read_both": round(both / len(pairs), 3),
            "completion_frames": {"median": float(np.median(done)), "min": min(done), "max": max(done), "ease_frames": round(ease, 2)},
            "largest_step_mm": round(max(steps) * 1000, 2),
            "single_prompt_largest_step_mm": round(max(_largest_step(a.vertices) for a in single.values()) * 1000, 2),
            "lips": {
                "lip_distance_mm": round(float(np.mean(lip_all)) * 1000, 4),
                "lip_distance_mm_largest_pair": round(float(np.max(lip_all)) * 1000, 4),
                "outside_ease_mm": round(float(np.mean(lip_out)) * 1000, 4),
            },
        }
    return out


def _largest_step(vertices: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(vertices, axis=0), axis=-1).max())
