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
  lowers the gaze and slows the head, high-arousal emotions move the head more. With a timeline
  of prompts each stretch is read on its own and shapes its own part of the clip.

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

from .readout import read_expression
from .rig import EYE_PITCH_DEG, EYE_YAW_DEG, INDEX, FaceRig, load_rig

SAMPLE_RATE = 16000
CLOSE_S = 0.12  # the mouth is shut this long after the voice stops
OPEN_S = 0.08  # ... and starts to open this long before the next word
BLINK_MEAN_S = 5.0  # spontaneous blinks; with the cued ones about 15 a minute
BLINK_MAX_S = 6.0  # no longer without a blink
BLINK_MIN_GAP_S = 0.8
BLINK_CUE_P = 0.3  # chance of a blink at a phrase end / a large gaze shift
PHRASE_MIN_S = 0.5  # a phrase this long cues a blink at its end
GAZE_SHIFT_DEG = 8.0  # a gaze shift this large may cue a blink
STARTLE_S = 1.5  # fear and surprise hold blinks back this long
# Silero VAD settings: pauses shorter than MIN_SILENCE_S count as speech.
MIN_SILENCE_S, SPEECH_PAD_S, MIN_SPEECH_S = 0.2, 0.03, 0.06
# Shapes that open the mouth: removed in the rest pose. The expression's other mouth shapes
# (smile, frown, press, upper-lip raise) stay.
OPENING = ("jawOpen", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthFunnel", "mouthClose", "jawForward")
OPENING_INDEX = [INDEX[n] for n in OPENING]
# Russell's circumplex, roughly: how much an emotion moves the body.
AROUSAL = {"neutral": 0.3, "happy": 0.7, "sad": 0.15, "surprised": 0.85, "fearful": 0.8, "angry": 0.9, "disgusted": 0.5, "contempt": 0.4}
# Where the head turns: the top of the neck, behind and below the head's centre (metres).
NECK_PIVOT = np.array([0.0, -0.075, -0.03], dtype=np.float32)
# Head: low-pass cutoffs (Hz) of its parts, and how far the pitch of the voice lifts it.
ACTIVITY_HZ, LOUDNESS_HZ, PITCH_HZ, POSTURE_HZ, SWAY_HZ = 0.8, 6.0, 1.5, 0.6, 0.3
PITCH_LIFT_DEG = 0.35  # per semitone
SWAY_DEG = np.array([0.5, 1.0, 0.5])
NOD_PROMINENCE_DB, NOD_GAP_S, NOD_LEAD_S = 4.0, 0.3, 0.1
STRESSED_QUANTILE = 0.4  # nods on the syllables stronger than this share of them
SAD_HANG_DEG = 3.0
# Prosody analysis: 10 ms hop; loudness over 40 ms, pitch (YIN) over 64 ms.
HOP = SAMPLE_RATE // 100
RMS_FRAME, PITCH_FRAME = 640, 1024


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


def add_motion(
    vertices: np.ndarray, wave: np.ndarray, fps: float, weights: np.ndarray | None = None, seed: int | None = None, rig: FaceRig | None = None, segments=None
) -> Motion:
    """Raw model vertices (T,V,3) + the 16 kHz audio -> the living face (see the module doc).

    ``weights`` are the ARKit weights solved from ``vertices`` when already known. ``segments``:
    (first frame, end frame) of each stretch of a timeline of prompts, read apart.
    """
    rig = rig or load_rig()
    vertices = np.asarray(vertices, dtype=np.float32)
    frames = len(vertices)
    weights = rig.solve(vertices) if weights is None else np.asarray(weights, dtype=np.float32)
    rng = np.random.default_rng(audio_seed(wave) if seed is None else seed)
    voiced = voice_activity(wave, fps, frames)
    # Each stretch's expression: (start s, emotion, level); one stretch without a timeline.
    stretches = []
    for a, b in segments or [(0, frames)]:
        part, said = weights[a:b], voiced[a:b]
        stretches.append((a / fps, *read_expression(part[said] if said.any() else part)))
    emotion = stretches[0][1] if len(stretches) == 1 else _longest(stretches, frames / fps)

    vertices, weights = _rest_in_silence(vertices, weights, voiced, fps, rig)
    phrases = _runs(voiced)
    onsets = [a / fps for a, _ in phrases]
    ends = [b / fps for a, b in phrases if (b - a) / fps >= PHRASE_MIN_S]
    starts = np.array([s[0] for s in stretches])
    emotion_at = lambda t: stretches[int(np.searchsorted(starts, t, side="right")) - 1][1]  # noqa: E731
    startle_starts = [t for t, e, _ in stretches if startles(e)]
    gaze, shifts = _gaze(rng, frames, fps, onsets, emotion_at)
    blinks = _blink_onsets(rng, frames / fps, ends, shifts, startle_starts)
    edited = weights.copy()
    _apply_eyes(edited, gaze, blinks, fps, rng, startle_starts)
    vertices = vertices + np.einsum("tk,kvc->tvc", edited - weights, rig.deltas)
    if len(stretches) == 1:
        gain, sad = head_gain(arousal_of(*stretches[0][1:])), float(emotion == "sad")
    else:  # the body's style eases from stretch to stretch
        index = np.searchsorted(starts, np.arange(frames) / fps, side="right") - 1
        gain = _lowpass(np.array([head_gain(arousal_of(e, level)) for _, e, level in stretches])[index], fps, POSTURE_HZ)
        sad = _lowpass(np.array([float(e == "sad") for _, e, _ in stretches])[index], fps, POSTURE_HZ)
    head = head_rotation(wave, fps, frames, voiced, rng, gain=gain, sad=sad)
    return Motion(vertices.astype(np.float32), edited, head.astype(np.float32), voiced, blinks, emotion)


def _longest(stretches, seconds: float) -> str:
    """The emotion shown longest over a timeline's stretches."""
    ends = [s[0] for s in stretches[1:]] + [seconds]
    total: dict[str, float] = {}
    for (start, emotion, _), end in zip(stretches, ends):
        total[emotion] = total.get(emotion, 0.0) + end - start
    return max(total, key=total.get)


def arousal_of(emotion: str, level: float) -> float:
    """How much the read expression moves the body: its arousal, blended with neutral's by level."""
    return AROUSAL[emotion] * level + AROUSAL["neutral"] * (1 - level)


def head_gain(arousal: float) -> float:
    return 0.6 + 0.8 * arousal


# ---- voice -------------------------------------------------------------------------------------
def voice_activity(wave: np.ndarray, fps: float, frames: int) -> np.ndarray:
    """(frames,) bool: the frames within speech, by Silero VAD. Pauses under 200 ms count as
    speech (the mouth should not snap shut between words)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    wave = np.asarray(wave, dtype=np.float32)
    ms = lambda s: int(round(1000 * s))  # noqa: E731
    options = VadOptions(min_silence_duration_ms=ms(MIN_SILENCE_S), speech_pad_ms=ms(SPEECH_PAD_S), min_speech_duration_ms=ms(MIN_SPEECH_S))
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
    return np.where(voiced, 0.0, rest_ease(since, until))


def rest_ease(since, until):
    """How far into the rest pose, ``since`` s after the voice stopped and ``until`` s before it
    starts again: shut within CLOSE_S, open from OPEN_S ahead."""
    return np.minimum(_smoothstep(since / CLOSE_S), _smoothstep(until / OPEN_S))


def rest_pose(weights: np.ndarray) -> np.ndarray:
    """A pause's held expression (52,) from the model's weights there: the mouth-opening shapes out."""
    held = np.array(weights, dtype=np.float32)
    held[OPENING_INDEX] = 0.0
    return held


def _rest_in_silence(vertices, weights, voiced, fps, rig: FaceRig):
    rest = rest_weight(voiced, fps)
    vertices, weights = vertices.copy(), weights.copy()
    for a, b in _runs(rest > 0):
        held_w = weights[a:b].mean(0)
        # The pause's own face, held still, with the mouth-opening shapes taken out.
        held_v = vertices[a:b].mean(0) - np.einsum("k,kvc->vc", held_w[OPENING_INDEX], rig.deltas[OPENING_INDEX])
        held_w = rest_pose(held_w)
        r = rest[a:b, None]
        weights[a:b] = (1 - r) * weights[a:b] + r * held_w
        vertices[a:b] = (1 - r[..., None]) * vertices[a:b] + r[..., None] * held_v
    return vertices, weights


# ---- eyes --------------------------------------------------------------------------------------
def _gaze(rng, frames: int, fps: float, phrase_onsets: list[float], emotion_at):
    """(T,2) gaze angles in degrees (yaw to the face's left, pitch down) and the times of large
    shifts. Fixations on the listener with small shifts; glances away, likelier as a phrase
    starts (speakers look away to plan, and back to check); main-sequence saccades."""
    seconds = frames / fps
    targets = []  # (start, yaw, pitch)
    shifts = []
    t, away = 0.0, True  # the clip opens looking at the listener
    while t < seconds:
        starting = any(0.0 <= o - t < 0.4 for o in phrase_onsets)
        yaw, pitch, duration, away = next_fixation(rng, away, starting, emotion_at(t))
        if targets and is_gaze_shift(targets[-1][1:], (yaw, pitch)):
            shifts.append(t)
        targets.append((t, yaw, pitch))
        t += duration
    starts, values = np.array([s for s, _, _ in targets]), np.array([v for _, *v in targets])
    times = np.arange(frames) / fps
    current = np.searchsorted(starts, times, side="right") - 1
    before, after = values[np.maximum(current - 1, 0)], values[current]
    return saccade(times - starts[current], before, after), shifts


def next_fixation(rng, away: bool, starting: bool, emotion: str) -> tuple[float, float, float, bool]:
    """The next gaze target (yaw, pitch in degrees), how long it is held (s) and whether it looks
    away: after a look away, back to the listener; else a glance away (likelier as a phrase
    starts) or a small shift on the listener. Fear scans; sadness looks down."""
    median = {"fearful": 0.6, "surprised": 0.8}.get(emotion, 1.1)
    down_bias = 7.0 if emotion == "sad" else 0.0
    if not away and rng.random() < (0.35 if starting else 0.12):
        yaw, pitch = rng.choice([-1, 1]) * rng.uniform(7, 14), rng.uniform(-4, 6) + down_bias
        duration, away = rng.uniform(0.5, 1.2), True
    else:
        yaw, pitch = rng.normal(0, 1.5), rng.normal(0, 1.0) + down_bias
        duration, away = float(rng.lognormal(np.log(median), 0.45)), False
    return yaw, pitch, duration, away


def is_gaze_shift(before, after) -> bool:
    """A shift large enough to cue a blink."""
    return bool(np.hypot(after[0] - before[0], after[1] - before[1]) > GAZE_SHIFT_DEG)


def saccade(elapsed, before, after):
    """Gaze (...,2) ``elapsed`` s after a saccade from ``before`` to ``after`` began; its
    duration follows the main sequence: ~25 ms + 2.2 ms/degree."""
    span = 0.025 + 0.0022 * np.linalg.norm(after - before, axis=-1)
    step = _smoothstep(elapsed / span)[..., None]
    return before + step * (after - before)


def _blink_onsets(rng, seconds: float, phrase_ends: list[float], gaze_shifts: list[float], startle_starts: list[float]) -> list[float]:
    """Blink onsets (s): a gamma renewal process, reset by blinks at phrase ends (p = 0.3) and at
    large gaze shifts (p = 0.3); fear and surprise hold blinks back for 1.5 s from where they
    begin (``startle_starts``)."""
    hold_until = STARTLE_S if 0.0 in startle_starts else 0.0

    def held(t: float) -> float | None:
        return next((s + STARTLE_S for s in startle_starts if s <= t < s + STARTLE_S), None)

    cued = [c for c in (phrase_end_cue(rng, t) for t in phrase_ends) if c is not None]
    cued += [c for c in (gaze_shift_cue(rng, t) for t in gaze_shifts) if c is not None]
    cued = sorted(t for t in cued if t >= hold_until and held(t) is None)

    onsets: list[float] = []
    last = -np.inf
    spontaneous = first_blink(rng, hold_until)
    while True:
        cue = next((c for c in cued if c >= last + BLINK_MIN_GAP_S), np.inf)
        t = min(spontaneous, cue)
        if held(t) is not None:  # a startle later in the clip: the spontaneous blink waits
            spontaneous = held(t)
            continue
        if t >= seconds - 0.35:  # no blink cut short by the end of the clip
            return onsets
        onsets.append(float(t))
        last = t
        spontaneous = t + blink_interval(rng)


def startles(emotion: str) -> bool:
    return emotion in ("fearful", "surprised")


def phrase_end_cue(rng, end: float) -> float | None:
    """A blink cued by a phrase ending at ``end`` (s), or None."""
    return end + rng.uniform(0.0, 0.25) if rng.random() < BLINK_CUE_P else None


def gaze_shift_cue(rng, t: float) -> float | None:
    """A blink cued by a large gaze shift at ``t`` (s), or None."""
    return t if rng.random() < BLINK_CUE_P else None


def first_blink(rng, hold_until: float) -> float:
    """The first spontaneous blink comes early."""
    return hold_until + rng.uniform(0.4, 2.5)


def blink_interval(rng) -> float:
    """Seconds to the next spontaneous blink: gamma, capped at BLINK_MAX_S."""
    return max(min(rng.gamma(4.0, BLINK_MEAN_S / 4.0), BLINK_MAX_S), BLINK_MIN_GAP_S)


def blink_curve(tau: np.ndarray, close: float, hold: float, opening: float) -> np.ndarray:
    """Lid closure at ``tau`` seconds after onset: eased closing, a short hold, a decelerating
    opening (the lid rises fast at first, then settles)."""
    closing = 0.5 - 0.5 * np.cos(np.pi * np.clip(tau / close, 0, 1))
    rising = (1 - np.clip((tau - close - hold) / opening, 0, 1)) ** 2
    return np.where(tau < 0, 0.0, np.where(tau < close + hold, closing, rising))


def sample_blink(rng) -> tuple:
    """One blink's shape: (close, hold, open) durations, the trailing lid's lag, depths, which lid leads."""
    shape = rng.uniform(0.06, 0.09), rng.uniform(0.03, 0.07), rng.uniform(0.15, 0.25)
    lag = rng.uniform(0.0, 0.008)  # the second eyelid trails by a few ms
    depth = 1.0, rng.uniform(0.93, 1.0)
    order = rng.permutation(2)
    return shape, lag, depth, order


def blink_closure(closure: np.ndarray, tau: np.ndarray, blink: tuple) -> None:
    """Adds one blink to ``closure`` (T,2) (left, right lid), ``tau`` s after its onset."""
    shape, lag, depth, order = blink
    closure[:, order[0]] = np.maximum(closure[:, order[0]], depth[0] * blink_curve(tau, *shape))
    closure[:, order[1]] = np.maximum(closure[:, order[1]], depth[1] * blink_curve(tau - lag, *shape))


def startle_widen(since: np.ndarray) -> np.ndarray:
    """The startle: lids pulled up, relaxing over 2 s after fear or surprise begins."""
    return 0.3 * np.clip(1 - since / 2.0, 0, 1)


def _apply_eyes(weights: np.ndarray, gaze: np.ndarray, onsets: list[float], fps: float, rng, startle_starts: list[float]) -> None:
    frames = len(weights)
    times = np.arange(frames) / fps
    closure = np.zeros((frames, 2))
    for t0 in onsets:
        blink_closure(closure, times - t0, sample_blink(rng))
    widen = None
    for start in startle_starts:
        since = startle_widen(times - start) * (times >= start)
        widen = since if widen is None else np.maximum(widen, since)
    eyes_to_weights(weights, closure, gaze, widen)


def eyes_to_weights(weights: np.ndarray, closure: np.ndarray, gaze: np.ndarray, widen: np.ndarray | None) -> None:
    """Writes lid closure (T,2), gaze (T,2) degrees and the startle's widening (T,) into ``weights``
    (T,52) in place: blinks add to the model's lids and relax eyeWide; gaze as eyeLook*."""
    if widen is not None:
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
    """Per frame: loudness (dB) and pitch (Hz), from 10 ms analysis frames."""

    hop = HOP
    wave = np.asarray(wave, dtype=np.float32)
    if len(wave) < 2048:
        wave = np.pad(wave, (0, 2048 - len(wave)))
    loud, f0 = loudness_db(wave, center=True), pitch_hz(wave, center=True)
    analysis = np.arange(len(loud)) * hop / SAMPLE_RATE
    t = np.arange(frames) / fps
    loud = np.interp(t, analysis, loud)
    f0 = np.interp(t, np.arange(len(f0)) * hop / SAMPLE_RATE, f0)
    return loud, f0


def loudness_db(wave: np.ndarray, center: bool) -> np.ndarray:
    """Loudness (dB) every HOP samples over RMS_FRAME; ``center=False``: frames start at sample 0."""
    import librosa

    rms = librosa.feature.rms(y=wave, frame_length=RMS_FRAME, hop_length=HOP, center=center)[0]
    return 20 * np.log10(np.maximum(rms, 1e-5))


def pitch_hz(wave: np.ndarray, center: bool) -> np.ndarray:
    """F0 (Hz, YIN) every HOP samples over PITCH_FRAME; meaningless where unvoiced."""
    import librosa

    return librosa.yin(wave, fmin=65, fmax=400, sr=SAMPLE_RATE, frame_length=PITCH_FRAME, hop_length=HOP, center=center)


def head_rotation(wave: np.ndarray, fps: float, frames: int, voiced: np.ndarray, rng, gain=1.0, sad=0.0) -> np.ndarray:
    """(T,3) degrees: pitch, yaw, roll (see the module doc). ``gain`` and ``sad`` (how much the
    head hangs, 0 to 1): one value, or one per frame."""
    from scipy.signal import find_peaks

    times = np.arange(frames) / fps
    loud, f0 = _prosody(wave, fps, frames)
    semitones = np.zeros(frames)
    if voiced.any():
        semitones[voiced] = 12 * np.log2(f0[voiced] / np.median(f0[voiced]))
    # How much the body is in the speech around each moment: near 0 in silence.
    activity = _lowpass(voiced.astype(float), fps, ACTIVITY_HZ).clip(0, 1)
    head = np.zeros((frames, 3))

    # Nods on stressed syllables: prominent loudness peaks within speech, stronger with a pitch rise.
    smooth = _lowpass(np.where(voiced, loud, loud.min()), fps, LOUDNESS_HZ)
    peaks, props = find_peaks(smooth, prominence=NOD_PROMINENCE_DB, distance=max(1, int(NOD_GAP_S * fps)))
    keep = voiced[peaks]
    peaks, prominence = peaks[keep], props["prominences"][keep]
    if len(peaks):
        strength = nod_strength(prominence, semitones[peaks])
        stressed = strength >= np.quantile(strength, STRESSED_QUANTILE)
        for p, s in zip(peaks[stressed], strength[stressed]):
            tau = times - (times[p] - NOD_LEAD_S)  # the nod leads the syllable's peak slightly
            head[:, 0] += nod_amplitude(rng, s) * nod_response(tau)
    # The head rises with the voice's pitch (as measured in Yehia et al. 2002).
    head[:, 0] -= PITCH_LIFT_DEG * _lowpass(np.clip(semitones, -6, 6), fps, PITCH_HZ)

    # A new posture for each phrase, reached smoothly.
    posture = np.zeros((frames, 3))
    for a, b in _runs(voiced):
        posture[a:] = sample_posture(rng)
    head += _lowpass(posture, fps, POSTURE_HZ)
    # Slow sway (band-limited noise); a breath's worth survives in silence.
    sway = _lowpass(rng.normal(size=(frames + 60, 3)), fps, SWAY_HZ)[30 : frames + 30]
    sway /= max(float(sway.std()), 1e-6)
    head += sway * SWAY_DEG
    head *= (np.asarray(gain, np.float64) * activity_scale(activity))[..., None] if np.ndim(gain) else gain * activity_scale(activity)[:, None]
    head[:, 0] += SAD_HANG_DEG * np.asarray(sad, np.float64)  # sadness: the head hangs a little
    return head


def nod_strength(prominence, semitones):
    """A syllable's stress: its loudness prominence (dB) and pitch rise (semitones)."""
    return prominence / 10 + np.clip(semitones, 0, 6) / 6


def nod_amplitude(rng, strength: float) -> float:
    """Degrees of pitch at the nod's peak."""
    return min(0.8 + 1.2 * strength, 3.0) * rng.uniform(0.7, 1.2)


def nod_response(tau):
    """A nod's shape ``tau`` s after it starts: up in 150 ms, then decaying (0 before it starts)."""
    tau = np.asarray(tau, dtype=float)
    return np.where(tau > 0, (tau / 0.15) * np.exp(1 - tau / 0.15), 0.0)


def sample_posture(rng) -> list[float]:
    """A phrase's posture: pitch, yaw, roll (degrees)."""
    return [rng.uniform(-2.5, 2.5), rng.uniform(-5.0, 5.0), rng.uniform(-2.5, 2.5)]


def activity_scale(activity):
    """How much of the head motion shows: nearly none in silence (a breath's worth), all in speech."""
    return 0.05 + 0.95 * activity


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
