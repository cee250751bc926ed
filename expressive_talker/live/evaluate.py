"""``python -m expressive_talker evaluate-live``: what streaming costs against the offline model,
on real speech with known phones (the ``evaluate-lipsync`` folder format). Prints JSON.

- ``lips``: for each look-ahead, the streamed raw output (``still``, 20 ms chunks) scored with
  ``evaluate-lipsync``'s formulas (closure rate, open-vowel gap; ``lipsync/metrics.py``), and
  ``lip_distance_mm``: the mean over frames and lip vertices of the distance to the offline raw
  output of the same clip (``animate_speech(still=True)``). ``face_delay_ms``: how far the face
  runs behind the voice by construction (the look-ahead plus half a hop, on average), before any
  computing or network time.
- ``rest``: each clip followed by 1 s of silence, streamed with the motion layer: the time from
  the voice stopping (the end of the last 10 ms whose loudness is within 30 dB of the clip's
  loudest: the aligner's last phone can end while a word still trails off) to the first frame
  whose midline lip gap is at most ``CLOSED_GAP_MM`` and stays so (median and largest).
- ``prompt_switch``: the clips end to end (real voices), streamed with "neutral" and switched
  halfway to each of the 8 emotion words: ``read_expression`` over the next 0.5 s of the raw
  output names the new emotion (share of the 8), and the largest frame-to-frame vertex step of
  those streams against the largest of the offline model over the same audio with each prompt.
"""

from __future__ import annotations

import time

import numpy as np
from tqdm import tqdm

from ..audio.io import SAMPLE_RATE
from ..face.expressions import EMOTIONS
from .features import WindowConfig
from .session import LiveSession

CHUNK = SAMPLE_RATE // 50  # 20 ms, a microphone's usual chunk
LOOKAHEADS_S = (0.06, 0.1, 0.2)
SWITCH_READ_S = 0.5


def stream(session: LiveSession, wave: np.ndarray, switch_at: float | None = None, prompt: str | None = None) -> None:
    """Push ``wave`` in 20 ms chunks (changing the prompt once the stream reaches ``switch_at``
    seconds), then finish."""
    for start in range(0, len(wave), CHUNK):
        if switch_at is not None and start >= switch_at * SAMPLE_RATE:
            session.set_prompt(prompt)
            switch_at = None
        session.push(wave[start : start + CHUNK])
    session.finish()


def voice_end(wave: np.ndarray) -> float:
    """Seconds: the end of the last 10 ms whose loudness is within 30 dB of the loudest 10 ms."""
    hop = SAMPLE_RATE // 100
    rms = np.sqrt(np.mean(np.square(wave[: len(wave) // hop * hop].reshape(-1, hop), dtype=np.float64), axis=1))
    db = 20 * np.log10(np.maximum(rms, 1e-5))
    return (np.flatnonzero(db >= db.max() - 30)[-1] + 1) * hop / SAMPLE_RATE


def _largest_step(vertices: np.ndarray) -> float:
    """The largest distance any vertex moves from one frame to the next (m)."""
    return float(np.linalg.norm(np.diff(vertices, axis=0), axis=-1).max())


def evaluate_live(data_dir: str, weights_dir: str | None = None, lookaheads=LOOKAHEADS_S, progress: bool = True) -> dict:
    from ..audio import load_audio
    from ..data.lips import CLOSED_GAP_MM, LipGap
    from ..face.readout import read_expression
    from ..face.rig import load_rig
    from ..lipsync import metrics
    from ..lipsync.benchmark import read_clips
    from ..pipeline import WEIGHTS_DIR, animate_speech

    weights_dir = weights_dir or WEIGHTS_DIR
    clips = read_clips(data_dir)
    rig = load_rig()
    gap, lips = LipGap(rig, midline=True), rig.lip_indices
    waves = {name: load_audio(path, max_seconds=600.0) for name, path, _ in clips}
    offline = {name: animate_speech(waves[name], "neutral", weights_dir=weights_dir, still=True).vertices for name in waves}
    result = {"data": data_dir, "clips": len(clips), "chunk_ms": 20, "lips": [], "offline": {}}

    events = [metrics.clip_events(gap.of_vertices(offline[n]), phones, 30.0) for n, _, phones in clips]
    offline_row = metrics.summarize(events, [])
    result["offline"] = {k: offline_row[k] for k in ("bilabials", "closure_rate", "open_gap_mm")}
    default = WindowConfig()
    for lookahead in lookaheads:
        window = WindowConfig(lookahead_s=lookahead, window_s=default.window_s, hop_s=default.hop_s, pad_s=default.pad_s)
        events, distances, cpu, seconds = [], [], 0.0, 0.0
        for name, _, phones in tqdm(clips, desc=f"lips, look-ahead {lookahead * 1000:g} ms", disable=not progress):
            session = LiveSession("neutral", still=True, weights_dir=weights_dir, window=window, keep_vertices=True)
            started = time.process_time()
            stream(session, waves[name])
            cpu += time.process_time() - started
            seconds += len(waves[name]) / SAMPLE_RATE
            vertices = np.concatenate(session.raw_vertices)
            events.append(metrics.clip_events(gap.of_vertices(vertices), phones, session.fps))
            distances.append(np.linalg.norm(vertices[:, lips] - offline[name][:, lips], axis=-1).mean() * 1000)
        row = metrics.summarize(events, [])
        result["lips"].append({
            "lookahead_ms": round(lookahead * 1000), "face_delay_ms": round((lookahead + window.hop_s / 2) * 1000),
            "closure_rate": row["closure_rate"], "open_gap_mm": row["open_gap_mm"],
            "lip_distance_mm": round(float(np.mean(distances)), 3), "cpu_s_per_audio_s": round(cpu / seconds, 3),
        })  # fmt: skip

    # Rest: lips shut after the voice stops (the motion layer, default look-ahead).
    delays = []
    for name in tqdm(waves, desc="rest in silence", disable=not progress):
        session = LiveSession("neutral", weights_dir=weights_dir)
        stream(session, np.concatenate([waves[name], np.zeros(SAMPLE_RATE, np.float32)]))
        _, weights, _ = session.take()
        shut = gap(weights) <= CLOSED_GAP_MM
        end = voice_end(waves[name])
        times = np.arange(len(shut)) / session.fps
        after = np.flatnonzero(times >= end)
        still_open = after[~shut[after]]
        first_rest = still_open[-1] + 1 if len(still_open) else after[0]
        delays.append(max(0.0, first_rest / session.fps - end) * 1000)
    result["rest"] = {"clips": len(delays), "median_ms": round(float(np.median(delays)), 1), "max_ms": round(float(np.max(delays)), 1)}

    # Prompt switches mid-stream, on the clips end to end.
    wave = np.concatenate(list(waves.values()))
    half = len(wave) / SAMPLE_RATE / 2
    offline_step = max(_largest_step(animate_speech(wave, e, weights_dir=weights_dir, still=True).vertices) for e in EMOTIONS)  # neutral included
    read, steps = {}, []
    for emotion in tqdm([e for e in EMOTIONS if e != "neutral"], desc="prompt switches", disable=not progress):
        session = LiveSession("neutral", still=True, weights_dir=weights_dir, keep_vertices=True)
        stream(session, wave, switch_at=half, prompt=emotion)
        vertices = np.concatenate(session.raw_vertices)
        switch = session.schedule.changes[-1][0]
        after = rig.solve(vertices[switch : switch + int(round(SWITCH_READ_S * session.fps))])
        read[emotion] = read_expression(after)[0]
        steps.append(_largest_step(vertices))
    result["prompt_switch"] = {
        "audio_s": round(len(wave) / SAMPLE_RATE, 2), "switch_at_s": round(half, 2), "read_over_s": SWITCH_READ_S,
        "read_as": read, "accuracy": round(sum(read[e] == e for e in read) / len(read), 3),
        "largest_step_mm": round(max(steps) * 1000, 2), "offline_largest_step_mm": round(offline_step * 1000, 2),
    }  # fmt: skip
    return result
