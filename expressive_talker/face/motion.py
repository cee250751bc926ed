"""The motion layer: blinks, gaze, head motion and a mouth at rest in silence, added after the model.

Every method's raw output goes through the same layer, so Compare and the user study stay fair.
It is procedural (sampled, not learned: a trained model regresses blinks and saccades to the
mean) and seeded by the audio, so one clip always gets the same blinks, glances and nods
whichever method speaks it. What it adds:

- **Rest in silence.** Silero VAD (shipped with faster-whisper) finds the voice. Where there is
  none, the face eases within ``CLOSE_S`` to a held pose of that pause: the model's own
  expression, averaged over the pause, with the mouth-opening shapes removed; it starts to open
  ``OPEN_S`` before the next word. Voiced frames keep the model's vertices exactly.
- **Blinks.** A renewal process (gamma intervals, mean ``BLINK_MEAN_S``, never longer than
  ``BLINK_MAX_S``), reset by extra blinks at phrase ends and at large gaze shifts (people blink
  more at pauses and with gaze shifts, fewer in a stretch of speech); each blink
  closes fast and opens slower (about 250-400 ms in all), both eyes together with a small
  asymmetry. Blinks add to the model's eyelids (a squint stays a squint) and relax eyeWide.
- **Gaze.** Fixations on the listener with small shifts, and glances away (more often as a
  phrase starts), joined by saccades whose duration follows the main sequence; as eyeLook*.
- **Head rotation.** Nods on the stressed syllables (loudness peaks, stronger with a pitch
  rise), a new posture per phrase, the head rising with the voice's pitch and a slow sway; all
  of it scaled by how loud the voice is around that moment, so the head is near-still in
  silence. A separate track (pitch, yaw, roll in degrees): vertices stay in the head's frame.
- **Expression.** The expression the face shows (read back from the model's output) shapes the
  layer: fear and surprise suppress blinks for a moment and widen the eyes at the start, sadness
  lowers the gaze and slows the head, high-arousal emotions move the head more.

Head rotation angles: pitch about the head's x axis (towards its left), yaw about y (up), roll
about z (forward), applied as yaw · pitch · roll about a pivot at the top of the neck; pitch > 0
tips the face down, yaw > 0 turns it to its own left, roll > 0 tilts the top of the head to its
own right.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from .rig import EYE_PITCH_DEG, EYE_YAW_DEG, INDEX, FaceRig, load_rig

SAMPLE_RATE = 16000
CLOSE_S = 0.12  # the mouth is shut this long after the voice stops
OPEN_S = 0.08  # ... and starts to open this long before the next word
BLINK_MEAN_S = 5.0  # spontaneous blinks; with the cued ones about 15 a minute
BLINK_MAX_S = 6.0  # no longer without a blink
BLINK_MIN_GAP_S = 0.8
# Shapes that open the mouth: removed in the rest pose. The expression's other mouth shapes
# (smile, frown, press, upper-lip raise) stay.
OPENING = ("jawOpen", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthFunnel", "mouthClose", "jawForward")
# Russell's circumplex, roughly: how much an emotion moves the body.
AROUSAL = {"neutral": 0.3, "happy": 0.7, "sad": 0.15, "surprised": 0.85, "fearful": 0.8, "angry": 0.9, "disgusted": 0.5, "contempt": 0.4}
# Where the head turns: the top of the neck, behind and below the head's centre (metres).
NECK_PIVOT = np.array([0.0, -0.075, -0.03], dtype=np.float32)


@dataclass
class Motion:
    """The layer's output: the living face and what it was made of."""

    vertices: np.ndarray  # (T,V,3) head's own frame
    weights: np.ndarray  # (T,52) ARKit weights, with blinks and gaze
    head_rotation: np.ndarray  # (T,3) degrees: pitch, yaw, roll
    voiced: np.ndarray  # (T,) bool: frames with voice
    blinks: list[float]  # blink onsets (seconds)
    emotion: str  # the expression read from the model's output


def audio_seed(wave: np.ndarray) -> int:
    """The same audio always gets the same motion, whichever method animates it."""
    return zlib.crc32(np.ascontiguousarray(wave, dtype=np.float32).tobytes())


def add_motion(vertices: np.ndarray, wave: np.ndarray, fps: float, weights: np.ndarray | None = None, seed: int | None = None, rig: FaceRig | None = None) -> Motion:
    """Raw model vertices (T,V,3) + the 16 kHz audio -> the living face (see the module doc).

    ``weights`` are the ARKit weights solved from ``vertices`` when already known.
    """
    from ..metrics import read_expression

    rig = rig or load_rig()
    vertices = np.asarray(vertices, dtype=np.float32)
    frames = len(vertices)
    weights = rig.solve(vertices) if weights is None else np.asarray(weights, dtype=np.float32)
    rng = np.random.default_rng(audio_seed(wave) if seed is None else seed)
    voiced = voice_activity(wave, fps, frames)
    emotion, level = read_expression(weights[voiced] if voiced.any() else weights)
    arousal = AROUSAL[emotion] * level + AROUSAL["neutral"] * (1 - level)

    vertices, weights = _rest_in_silence(vertices, weights, voiced, fps, rig)
    phrases = _runs(voiced)
    onsets = [a / fps for a, _ in phrases]
    ends = [b / fps for a, b in phrases if (b - a) / fps >= 0.5]
    gaze, shifts = _gaze(rng, frames, fps, onsets, emotion)
    blinks = _blink_onsets(rng, frames / fps, ends, shifts, emotion)
    edited = weights.copy()
    _apply_eyes(edited, gaze, blinks, fps, rng, emotion)
    vertices = vertices + np.einsum("tk,kvc->tvc", edited - weights, rig.deltas)
    head = head_rotation(wave, fps, frames, voiced, rng, gain=0.6 + 0.8 * arousal, sad=emotion == "sad")
    return Motion(vertices.astype(np.float32), edited, head.astype(np.float32), voiced, blinks, emotion)


# ---- voice -------------------------------------------------------------------------------------
def voice_activity(wave: np.ndarray, fps: float, frames: int) -> np.ndarray:
    """(frames,) bool: the frames within speech, by Silero VAD. Pauses under 200 ms count as
    speech (the mouth should not snap shut between words)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    wave = np.asarray(wave, dtype=np.float32)
    options = VadOptions(min_silence_duration_ms=200, speech_pad_ms=30, min_speech_duration_ms=60)
    spans = get_speech_timestamps(wave, options, sampling_rate=SAMPLE_RATE) if wave.size else []
    t = np.arange(frames) / fps
    voiced = np.zeros(frames, bool)
    for span in spans:
        voiced |= (t >= span["start"] / SAMPLE_RATE) & (t < span["end"] / SAMPLE_RATE)
    return voiced


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def rest_weight(voiced: np.ndarray, fps: float) -> np.ndarray:
    """(T,) in [0,1]: how far each frame is eased into the rest pose (0 while voiced)."""
    t = np.arange(len(voiced)) / fps
    last = np.where(voiced, t, -np.inf)
    since = t - np.maximum.accumulate(last)
    following = np.where(voiced, t, np.inf)
    until = np.minimum.accumulate(following[::-1])[::-1] - t
    weight = np.minimum(_smoothstep(since / CLOSE_S), _smoothstep(until / OPEN_S))
    return np.where(voiced, 0.0, weight)


def _rest_in_silence(vertices, weights, voiced, fps, rig: FaceRig):
    rest = rest_weight(voiced, fps)
    vertices, weights = vertices.copy(), weights.copy()
    opening = [INDEX[n] for n in OPENING]
    for a, b in _runs(rest > 0):
        held_w = weights[a:b].mean(0)
        # The pause's own face, held still, with the mouth-opening shapes taken out.
        held_v = vertices[a:b].mean(0) - np.einsum("k,kvc->vc", held_w[opening], rig.deltas[opening])
        held_w[opening] = 0.0
        r = rest[a:b, None]
        weights[a:b] = (1 - r) * weights[a:b] + r * held_w
        vertices[a:b] = (1 - r[..., None]) * vertices[a:b] + r[..., None] * held_v
    return vertices, weights


# ---- eyes --------------------------------------------------------------------------------------
def _gaze(rng, frames: int, fps: float, phrase_onsets: list[float], emotion: str):
    """(T,2) gaze angles in degrees (yaw to the face's left, pitch down) and the times of large
    shifts. Fixations on the listener with small shifts; glances away, likelier as a phrase
    starts (speakers look away to plan, and back to check); main-sequence saccades."""
    seconds = frames / fps
    median = {"fearful": 0.6, "surprised": 0.8}.get(emotion, 1.1)  # fear scans
    down_bias = 7.0 if emotion == "sad" else 0.0
    targets = []  # (start, yaw, pitch)
    shifts = []
    t, away = 0.0, True  # the clip opens looking at the listener
    while t < seconds:
        starting = any(0.0 <= o - t < 0.4 for o in phrase_onsets)
        if not away and rng.random() < (0.35 if starting else 0.12):
            yaw, pitch = rng.choice([-1, 1]) * rng.uniform(7, 14), rng.uniform(-4, 6) + down_bias
            duration, away = rng.uniform(0.5, 1.2), True
        else:
            yaw, pitch = rng.normal(0, 1.5), rng.normal(0, 1.0) + down_bias
            duration, away = float(rng.lognormal(np.log(median), 0.45)), False
        if targets and np.hypot(yaw - targets[-1][1], pitch - targets[-1][2]) > 8:
            shifts.append(t)
        targets.append((t, yaw, pitch))
        t += duration
    starts, values = np.array([s for s, _, _ in targets]), np.array([v for _, *v in targets])
    times = np.arange(frames) / fps
    current = np.searchsorted(starts, times, side="right") - 1
    before, after = values[np.maximum(current - 1, 0)], values[current]
    span = 0.025 + 0.0022 * np.linalg.norm(after - before, axis=1)  # saccade main sequence: ~25 ms + 2.2 ms/degree
    step = _smoothstep((times - starts[current]) / span)[:, None]
    gaze = before + step * (after - before)
    return gaze, shifts


def _blink_onsets(rng, seconds: float, phrase_ends: list[float], gaze_shifts: list[float], emotion: str) -> list[float]:
    """Blink onsets (s): a gamma renewal process, reset by blinks at phrase ends (p = 0.3) and at
    large gaze shifts (p = 0.3); fear and surprise hold blinks back for the first 1.5 s."""
    hold_until = 1.5 if emotion in ("fearful", "surprised") else 0.0
    cued = [t + rng.uniform(0.0, 0.25) for t in phrase_ends if rng.random() < 0.3]
    cued += [t for t in gaze_shifts if rng.random() < 0.3]
    cued = sorted(t for t in cued if t >= hold_until)

    def interval():
        return min(rng.gamma(4.0, BLINK_MEAN_S / 4.0), BLINK_MAX_S)

    onsets: list[float] = []
    last = -np.inf
    spontaneous = hold_until + rng.uniform(0.4, 2.5)  # the first blink comes early
    while True:
        cue = next((c for c in cued if c >= last + BLINK_MIN_GAP_S), np.inf)
        t = min(spontaneous, cue)
        if t >= seconds - 0.35:  # no blink cut short by the end of the clip
            return onsets
        onsets.append(float(t))
        last = t
        spontaneous = t + max(interval(), BLINK_MIN_GAP_S)


def blink_curve(tau: np.ndarray, close: float, hold: float, opening: float) -> np.ndarray:
    """Lid closure at ``tau`` seconds after onset: eased closing, a short hold, a decelerating
    opening (the lid rises fast at first, then settles)."""
    closing = 0.5 - 0.5 * np.cos(np.pi * np.clip(tau / close, 0, 1))
    rising = (1 - np.clip((tau - close - hold) / opening, 0, 1)) ** 2
    return np.where(tau < 0, 0.0, np.where(tau < close + hold, closing, rising))


def _apply_eyes(weights: np.ndarray, gaze: np.ndarray, onsets: list[float], fps: float, rng, emotion: str) -> None:
    frames = len(weights)
    times = np.arange(frames) / fps
    closure = np.zeros((frames, 2))
    for t0 in onsets:
        shape = rng.uniform(0.06, 0.09), rng.uniform(0.03, 0.07), rng.uniform(0.15, 0.25)
        lag = rng.uniform(0.0, 0.008)  # the second eyelid trails by a few ms
        depth = 1.0, rng.uniform(0.93, 1.0)
        order = rng.permutation(2)
        closure[:, order[0]] = np.maximum(closure[:, order[0]], depth[0] * blink_curve(times - t0, *shape))
        closure[:, order[1]] = np.maximum(closure[:, order[1]], depth[1] * blink_curve(times - t0 - lag, *shape))
    if emotion in ("fearful", "surprised"):  # the startle: lids pulled up, relaxing over 2 s
        widen = 0.3 * np.clip(1 - times / 2.0, 0, 1)
        for side in ("Left", "Right"):
            w = weights[:, INDEX[f"eyeWide{side}"]]
            weights[:, INDEX[f"eyeWide{side}"]] = w + (1 - w) * widen
    for i, side in enumerate(("Left", "Right")):
        blink, wide = INDEX[f"eyeBlink{side}"], INDEX[f"eyeWide{side}"]
        weights[:, blink] += (1 - weights[:, blink]) * closure[:, i]  # adds to the model's lid
        weights[:, wide] *= 1 - closure[:, i]
    yaw, pitch = gaze[:, 0], gaze[:, 1]
    # Looking to the face's left is "out" for the left eye and "in" for the right one.
    for name, value in (
        ("eyeLookOutLeft", yaw), ("eyeLookInLeft", -yaw), ("eyeLookInRight", yaw), ("eyeLookOutRight", -yaw),
    ):  # fmt: skip
        weights[:, INDEX[name]] += np.clip(value, 0, None) / EYE_YAW_DEG
    for side in ("Left", "Right"):
        weights[:, INDEX[f"eyeLookDown{side}"]] += np.clip(pitch, 0, None) / EYE_PITCH_DEG
        weights[:, INDEX[f"eyeLookUp{side}"]] += np.clip(-pitch, 0, None) / EYE_PITCH_DEG
    np.clip(weights, 0.0, 1.0, out=weights)


# ---- head --------------------------------------------------------------------------------------
def _lowpass(x: np.ndarray, fps: float, cutoff_hz: float) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    if len(x) < 16:
        return x.copy()
    sos = butter(2, cutoff_hz / (fps / 2), output="sos")
    return sosfiltfilt(sos, x, axis=0, padlen=min(len(x) - 1, 3 * 6))


def _prosody(wave: np.ndarray, fps: float, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: loudness (dB) and pitch (semitones relative to the median of the voiced
    frames, 0 where unvoiced), from 10 ms analysis frames."""
    import librosa

    hop = SAMPLE_RATE // 100
    wave = np.asarray(wave, dtype=np.float32)
    if len(wave) < 2048:
        wave = np.pad(wave, (0, 2048 - len(wave)))
    rms = librosa.feature.rms(y=wave, frame_length=640, hop_length=hop)[0]
    loud = 20 * np.log10(np.maximum(rms, 1e-5))
    f0 = librosa.yin(wave, fmin=65, fmax=400, sr=SAMPLE_RATE, frame_length=1024, hop_length=hop)
    analysis = np.arange(len(rms)) * hop / SAMPLE_RATE
    t = np.arange(frames) / fps
    loud = np.interp(t, analysis, loud)
    f0 = np.interp(t, np.arange(len(f0)) * hop / SAMPLE_RATE, f0)
    return loud, f0


def head_rotation(wave: np.ndarray, fps: float, frames: int, voiced: np.ndarray, rng, gain: float = 1.0, sad: bool = False) -> np.ndarray:
    """(T,3) degrees: pitch, yaw, roll (see the module doc)."""
    from scipy.signal import find_peaks

    times = np.arange(frames) / fps
    loud, f0 = _prosody(wave, fps, frames)
    semitones = np.zeros(frames)
    if voiced.any():
        semitones[voiced] = 12 * np.log2(f0[voiced] / np.median(f0[voiced]))
    # How much the body is in the speech around each moment: near 0 in silence.
    activity = _lowpass(voiced.astype(float), fps, 0.8).clip(0, 1)
    head = np.zeros((frames, 3))

    # Nods on stressed syllables: prominent loudness peaks within speech, stronger with a pitch rise.
    smooth = _lowpass(np.where(voiced, loud, loud.min()), fps, 6.0)
    peaks, props = find_peaks(smooth, prominence=4.0, distance=max(1, int(0.3 * fps)))
    keep = voiced[peaks]
    peaks, prominence = peaks[keep], props["prominences"][keep]
    if len(peaks):
        strength = prominence / 10 + np.clip(semitones[peaks], 0, 6) / 6
        stressed = strength >= np.quantile(strength, 0.4)  # the stronger 60% of syllables
        for p, s in zip(peaks[stressed], strength[stressed]):
            tau = times - (times[p] - 0.1)  # the nod leads the syllable's peak slightly
            response = np.where(tau > 0, (tau / 0.15) * np.exp(1 - tau / 0.15), 0.0)
            head[:, 0] += min(0.8 + 1.2 * s, 3.0) * rng.uniform(0.7, 1.2) * response
    # The head rises with the voice's pitch (as measured in Yehia et al. 2002).
    head[:, 0] -= 0.35 * _lowpass(np.clip(semitones, -6, 6), fps, 1.5)

    # A new posture for each phrase, reached smoothly.
    posture = np.zeros((frames, 3))
    for a, b in _runs(voiced):
        posture[a:] = [rng.uniform(-2.5, 2.5), rng.uniform(-5.0, 5.0), rng.uniform(-2.5, 2.5)]
    head += _lowpass(posture, fps, 0.6)
    # Slow sway (band-limited noise); a breath's worth survives in silence.
    sway = _lowpass(rng.normal(size=(frames + 60, 3)), fps, 0.3)[30 : frames + 30]
    sway /= max(float(sway.std()), 1e-6)
    head += sway * np.array([0.5, 1.0, 0.5])
    head *= gain * (0.05 + 0.95 * activity)[:, None]
    if sad:
        head[:, 0] += 3.0  # sadness: the head hangs a little
    return head


def head_matrices(head_rotation: np.ndarray) -> np.ndarray:
    """(T,3) degrees -> (T,3,3) rotation matrices (yaw · pitch · roll)."""
    angles = np.asarray(head_rotation, dtype=np.float64).reshape(-1, 3)
    return Rotation.from_euler("YXZ", angles[:, [1, 0, 2]], degrees=True).as_matrix()


def rotate_head(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Points (...,3) in the head's frame -> the world, rotated about the neck pivot."""
    return (points - NECK_PIVOT) @ matrix.T + NECK_PIVOT


def pose_matrix(head_rotation) -> np.ndarray:
    """One frame's [pitch, yaw, roll] -> the 4x4 rigid transform about the neck pivot."""
    pose = np.eye(4)
    rot = head_matrices(np.asarray(head_rotation))[0]
    pose[:3, :3] = rot
    pose[:3, 3] = NECK_PIVOT - rot @ NECK_PIVOT
    return pose
