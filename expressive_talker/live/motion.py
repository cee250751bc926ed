"""The motion layer in streaming form: blinks, gaze, head motion and the mouth at rest in
silence, frame by frame as the audio arrives, with at most ``lookahead_s`` of look-ahead.

It does what ``face/motion.py`` does to a whole clip, with that module's pieces (blink shape and
renewal, fixations and saccades, the rest pose, nods, postures, prosody analysis), changed only
where a stream cannot know the future:

- **Voice**: Silero VAD (faster-whisper's ONNX model) window by window, its LSTM state carried,
  with the offline thresholds and padding. A silence still unbroken at the look-ahead's horizon
  when the padded voice ends is a pause (offline: 200 ms; here about ``lookahead_s`` + 30 ms when
  that is shorter), so the lips are at rest about 150-220 ms after the voice stops. A blip
  under 60 ms, which offline drops, may open the mouth for a moment: waiting to know would
  spend the look-ahead the next word's onset needs.
- **Rest**: the pause's held pose is the running mean of the model's weights since the pause
  began (offline: the whole pause's mean), mouth-opening shapes out. The mouth starts to open
  for the next word as soon as the VAD hears it within the look-ahead (up to ``OPEN_S`` early).
- **Emotion**: read (``read_expression``) every 0.5 s from the last 1.5 s of voiced model frames,
  so a prompt change mid-stream changes blinks, gaze and head; fear or surprise startles when it
  begins (offline: at the clip's start); head gain and the sad hang ease over ~1 s.
- **Head**: causal filters where offline filters forwards and back; nods on loudness peaks
  found with a streaming peak picker, starting at most ``NOD_LEAD_S`` before the peak and never
  before the peak is heard; pitch relative to the median of the last ``PITCH_MEMORY_S`` of voice.

Deterministic: every frame uses exactly the audio up to its time + ``lookahead_s`` (never what
else has arrived), and randomness comes from per-process generators drawn in frame order, so
the output is the same whatever the chunk sizes of ``push_audio`` and ``step``.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from scipy.signal import butter, sosfilt

from ..face.motion import (
    ACTIVITY_HZ, AROUSAL, BLINK_MIN_GAP_S, HOP, LOUDNESS_HZ, MIN_SILENCE_S, NOD_GAP_S, NOD_LEAD_S,
    NOD_PROMINENCE_DB, OPEN_S, PHRASE_MIN_S, PITCH_FRAME, PITCH_HZ, PITCH_LIFT_DEG, POSTURE_HZ,
    RMS_FRAME, SAD_HANG_DEG, SAMPLE_RATE, SPEECH_PAD_S, STARTLE_S, STRESSED_QUANTILE, SWAY_DEG, SWAY_HZ,
    activity_scale, arousal_of, blink_closure, blink_interval, eyes_to_weights, first_blink,
    gaze_shift_cue, head_gain, is_gaze_shift, loudness_db, next_fixation, nod_amplitude, nod_response,
    nod_strength, phrase_end_cue, pitch_hz, rest_ease, rest_pose, saccade, sample_blink, sample_posture,
    startle_widen, startles,
)  # fmt: skip
from ..face.readout import read_expression

WINDOW = 512  # Silero's window at 16 kHz (32 ms) ...
CONTEXT = 64  # ... with the end of the previous one in front
THRESHOLD, NEG_THRESHOLD = 0.5, 0.35  # faster-whisper's defaults (VadOptions)
EMOTION_WINDOW_S = 1.5  # the emotion is read from this much recent voice ...
EMOTION_EVERY_S = 0.5  # ... this often
STYLE_HZ = 0.6  # head gain and the sad hang ease at this cutoff when the emotion changes
PITCH_MEMORY_S = 20.0  # pitch is relative to the median of this much recent voice
STRESS_MEMORY = 50  # syllables whose strengths set what counts as stressed
LOUD_FLOOR_DB = -100.0  # loudness of digital silence (rms floor 1e-5)


class _Lowpass:
    """A causal 2nd-order Butterworth low-pass over a vector signal, one sample at a time (the
    offline layer's filter, run forwards only)."""

    def __init__(self, fps: float, cutoff_hz: float, first: np.ndarray):
        (self.b0, self.b1, self.b2, _, self.a1, self.a2) = butter(2, cutoff_hz / (fps / 2), output="sos")[0]
        first = np.asarray(first, dtype=float)
        # Start settled at the first value (no ramp up from zero); the DC gain is 1.
        self.z1 = first - self.b0 * first
        self.z2 = self.b2 * first - self.a2 * first

    def __call__(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        y = self.b0 * x + self.z1
        self.z1 = self.b1 * x - self.a1 * y + self.z2
        self.z2 = self.b2 * x - self.a2 * y
        return y


def _noise_std(fps: float, cutoff_hz: float) -> float:
    """The standard deviation of the low-pass's output for unit white noise (its impulse
    response's energy), to normalise the sway without looking at the future."""
    impulse = np.zeros(int(60 * fps / cutoff_hz))
    impulse[0] = 1.0
    return float(np.sqrt(np.sum(sosfilt(butter(2, cutoff_hz / (fps / 2), output="sos"), impulse) ** 2)))


class StreamingMotion:
    """Streaming motion layer: ``push_audio`` as the audio arrives, ``step`` with the model's
    weights for the next frames (see the module doc). ``seed`` None is seed 0 (a replayed
    stream moves the same); ``rig`` is accepted for symmetry with ``add_motion`` and unused:
    the layer works on ARKit weights alone."""

    def __init__(self, fps: float = 30.0, lookahead_s: float = 0.1, seed: int | None = None, rig=None):
        from faster_whisper.vad import get_vad_model

        self.fps, self.lookahead_s = float(fps), float(lookahead_s)
        # seed None: a fixed seed, so a stream replayed gives the same frames.
        gaze_seq, blink_seq, head_seq = np.random.SeedSequence(0 if seed is None else seed).spawn(3)
        self._gaze_rng, self._blink_rng, self._head_rng = (np.random.default_rng(s) for s in (gaze_seq, blink_seq, head_seq))
        self._vad = get_vad_model().session
        self._pad = int(SPEECH_PAD_S * SAMPLE_RATE)
        self._min_silence = int(MIN_SILENCE_S * SAMPLE_RATE)

        # Audio: samples [_buf_start, _pushed) are kept; earlier ones are no longer needed.
        self._buf = np.zeros(0, np.float32)
        self._buf_start = 0
        self._pushed = 0
        self._final = False
        # Silero: probabilities of windows [_probs_start, ...), LSTM state after the last.
        self._probs: list[float] = []
        self._probs_start = 0
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        # Prosody analysis (10 ms hop): loudness dB and f0 of frames [_ana_start, ...).
        self._loud = np.zeros(0)
        self._f0 = np.zeros(0)
        self._ana_start = 0

        self._frame = 0  # the next output frame
        # Voice segmentation (samples), advanced window by window up to each frame's horizon.
        self._window = 0  # next window to segment
        self._speaking = False
        self._seg_start = 0
        self._temp_end: int | None = None
        self._last_end: int | None = None
        self._was_voiced = False
        self._run_start = 0.0  # when the current voiced run began (s)
        self._onsets: deque[float] = deque()  # recent phrase onsets (s), for glances
        # Rest in silence.
        self._last_voiced_t = -np.inf
        self._rest_sum = np.zeros(52)
        self._rest_n = 0
        self._open_onset: int | None = None  # the upcoming onset the mouth is opening for ...
        self._open_span = OPEN_S  # ... and over how long
        # Emotion.
        every = max(1, int(round(EMOTION_EVERY_S * self.fps)))
        self._emotion_every = every
        recent = int(round(EMOTION_WINDOW_S * self.fps))
        self._recent_voiced: deque[np.ndarray] = deque(maxlen=recent)
        self._recent_any: deque[np.ndarray] = deque(maxlen=recent)  # until the voice is first heard
        self._emotion = "neutral"
        self._arousal = AROUSAL["neutral"]
        self._startle_t = -np.inf
        self._hold_until = 0.0
        # Gaze.
        self._away = True  # the stream opens looking at the listener
        self._gaze_next = 0.0
        self._gaze_start = 0.0
        self._gaze_before = self._gaze_after = None
        # Blinks.
        self._spontaneous: float | None = None
        self._cues: list[float] = []
        self._last_blink = -np.inf
        self._blinks: deque[tuple[float, tuple]] = deque()
        self.blinks: list[float] = []  # onsets so far (s); bounded by the session's cap
        # Head.
        self._activity = _Lowpass(self.fps, ACTIVITY_HZ, 0.0)
        self._posture_value = np.zeros(3)
        self._posture = _Lowpass(self.fps, POSTURE_HZ, np.zeros(3))
        self._sway = _Lowpass(self.fps, SWAY_HZ, np.zeros(3))
        self._sway_std = _noise_std(self.fps, SWAY_HZ)
        for _ in range(int(3 * self.fps / SWAY_HZ)):  # start the sway mid-stride, not from zero
            self._sway(self._head_rng.normal(size=3))
        self._style: _Lowpass | None = None  # (gain, sad) eased
        self._pitch_lift = _Lowpass(self.fps, PITCH_HZ, 0.0)
        self._nods: deque[tuple[float, float]] = deque()  # (start s, amplitude deg)
        # Prosody at the frame rate, running ahead of the output by the look-ahead.
        self._pros = 0  # next prosody frame
        self._pitch_terms: deque[tuple[int, float]] = deque()
        self._voiced_f0: deque[float] = deque(maxlen=int(PITCH_MEMORY_S * self.fps))
        self._loud_smooth: _Lowpass | None = None
        self._loud_min = np.inf
        self._low = self._high = np.inf  # streaming peak picker: valley, peak since it
        self._high_at: tuple[int, bool, float] = (0, False, 0.0)  # peak's frame, voiced, semitones
        self._last_nod_frame = -(10**9)
        self._strengths: deque[float] = deque(maxlen=STRESS_MEMORY)

    # ---- input -------------------------------------------------------------------------------
    def push_audio(self, samples: np.ndarray) -> None:
        """16 kHz mono float32 samples, in order, as they arrive (any chunk size)."""
        if self._final:
            raise ValueError("audio pushed after the final step")
        samples = np.asarray(samples, dtype=np.float32).ravel()
        self._buf = np.concatenate([self._buf, samples])
        self._pushed += len(samples)

    def step(self, weights: np.ndarray, final: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The model's ARKit weights (n,52) for the next n frames -> (weights (n,52) with blinks,
        gaze and the mouth at rest in silence; head rotation (n,3) degrees pitch, yaw, roll as
        face/motion.py defines them; voiced (n,) bool). Needs the audio up to the last frame's
        time + lookahead_s, or ``final=True`` (what follows the audio pushed is silence)."""
        weights = np.asarray(weights, dtype=np.float32).reshape(-1, 52)
        n = len(weights)
        if n == 0:
            return weights.copy(), np.zeros((0, 3), np.float32), np.zeros(0, bool)
        need = self._horizon(self._frame + n - 1) + WINDOW + PITCH_FRAME  # the analysis's reach
        if final:
            self._final = True
            if self._pushed < need:
                self._buf = np.concatenate([self._buf, np.zeros(need - self._pushed, np.float32)])
                self._pushed = need
        elif self._pushed < self._horizon(self._frame + n - 1):
            raise ValueError(f"step needs audio up to {self._horizon(self._frame + n - 1)} samples; {self._pushed} pushed")
        self._analyse()

        out = weights.copy()
        head = np.zeros((n, 3))
        voiced = np.zeros(n, bool)
        closure, gaze, widen = np.zeros((n, 2)), np.zeros((n, 2)), np.zeros(n)
        for i in range(n):
            k = self._frame
            t = k / self.fps
            horizon = self._horizon(k)
            self._segment_until(horizon)
            self._prosody_until(horizon, k)
            voiced[i] = self._voiced(int(round(t * SAMPLE_RATE)))
            self._read_emotion(k, t, weights[i], voiced[i])
            out[i] = self._rest(t, weights[i], voiced[i])
            self._phrases(t, voiced[i])
            gaze[i] = self._gaze(t)
            closure[i] = self._blink(t)
            widen[i] = startle_widen(t - self._startle_t)
            head[i] = self._head(k, t, voiced[i])
            self._frame += 1
        eyes_to_weights(out, closure, gaze, widen)
        self._trim()
        return out, head.astype(np.float32), voiced

    # ---- audio analysis (a function of the audio alone, so computed as soon as it arrives) ----
    def _horizon(self, frame: int) -> int:
        """The last sample (exclusive) that ``frame`` may depend on."""
        return int(np.floor((frame / self.fps + self.lookahead_s) * SAMPLE_RATE + 1e-6))

    def _audio(self, a: int, b: int) -> np.ndarray:
        """Samples [a, b), zeros before the stream's start."""
        lead = max(0, -a)
        return np.concatenate([np.zeros(lead, np.float32), self._buf[max(a, 0) - self._buf_start : b - self._buf_start]])

    def _analyse(self) -> None:
        # Silero over every complete window, in one call (its LSTM runs along the batch).
        first = self._probs_start + len(self._probs)
        last = self._pushed // WINDOW
        if last > first:
            audio = self._audio(first * WINDOW - CONTEXT, last * WINDOW)
            idx = np.arange(last - first)[:, None] * WINDOW + np.arange(WINDOW + CONTEXT)
            probs, self._h, self._c = self._vad.run(None, {"input": audio[idx], "h": self._h, "c": self._c})
            self._probs.extend(np.ravel(probs).tolist())
        # Loudness and pitch frames j (centred at j * HOP, as offline) whose audio has all arrived.
        first = self._ana_start + len(self._loud)
        last = (self._pushed - PITCH_FRAME // 2) // HOP + 1
        if last > first:
            span = (last - 1 - first) * HOP
            loud = loudness_db(self._audio(first * HOP - RMS_FRAME // 2, first * HOP + span + RMS_FRAME // 2), center=False)
            f0 = pitch_hz(self._audio(first * HOP - PITCH_FRAME // 2, first * HOP + span + PITCH_FRAME // 2), center=False)
            self._loud = np.concatenate([self._loud, loud])
            self._f0 = np.concatenate([self._f0, f0])

    def _prob(self, window: int) -> float:
        return self._probs[window - self._probs_start]

    def _trim(self) -> None:
        """Forget what no later frame can need: memory stays bounded however long the stream."""
        next_window = min(self._window, int(self._frame / self.fps * SAMPLE_RATE) // WINDOW)
        drop = next_window - self._probs_start
        if drop > 0:
            del self._probs[:drop]
            self._probs_start = next_window
        first_ana = max(0, int(self._pros / self.fps * 100) - 1)
        drop = first_ana - self._ana_start
        if drop > 0:
            self._loud, self._f0 = self._loud[drop:], self._f0[drop:]
            self._ana_start = first_ana
        keep = min((self._probs_start + len(self._probs)) * WINDOW - CONTEXT, (self._ana_start + len(self._loud)) * HOP - PITCH_FRAME)
        drop = keep - self._buf_start
        if drop > 0:
            self._buf = self._buf[drop:]
            self._buf_start = keep

    # ---- voice -------------------------------------------------------------------------------
    def _segment_until(self, horizon: int) -> None:
        """faster-whisper's hysteresis over Silero's windows that end by ``horizon``."""
        while (self._window + 1) * WINDOW <= horizon:
            p, start = self._prob(self._window), self._window * WINDOW
            if p >= THRESHOLD:
                if not self._speaking:
                    self._speaking, self._seg_start = True, start
                self._temp_end = None
            elif p < NEG_THRESHOLD and self._speaking:
                if self._temp_end is None:
                    self._temp_end = start
                if start - self._temp_end >= self._min_silence:
                    self._close()
            self._window += 1

    def _close(self) -> None:
        self._speaking, self._last_end, self._temp_end = False, self._temp_end, None

    def _voiced(self, sample: int) -> bool:
        if self._speaking and self._temp_end is not None and sample >= self._temp_end + self._pad:
            # Silence from the voice's padded end to the horizon: a pause, not a gap between words.
            self._close()
        if self._last_end is not None and sample < self._last_end + self._pad:
            return True
        if self._speaking and sample >= self._seg_start - self._pad:
            return True
        return False

    def _phrases(self, t: float, voiced: bool) -> None:
        if voiced and not self._was_voiced:
            self._run_start = t
            self._onsets.append(t)
            self._posture_value = np.array(sample_posture(self._head_rng))  # a new posture per phrase
        elif self._was_voiced and not voiced and t - self._run_start >= PHRASE_MIN_S:
            cue = phrase_end_cue(self._blink_rng, t)
            if cue is not None and cue >= self._hold_until:
                self._cues.append(cue)
        while self._onsets and self._onsets[0] < t - 1.0:
            self._onsets.popleft()
        self._was_voiced = voiced

    # ---- mouth -------------------------------------------------------------------------------
    def _rest(self, t: float, w: np.ndarray, voiced: bool) -> np.ndarray:
        if voiced:
            self._last_voiced_t, self._rest_n, self._open_onset = t, 0, None
            return w
        until = np.inf
        if self._speaking and self._seg_start - self._pad > t * SAMPLE_RATE:
            onset = self._seg_start - self._pad
            until = onset / SAMPLE_RATE - t
            if self._open_onset != onset:  # heard just now: open over what time is left
                self._open_onset, self._open_span = onset, min(OPEN_S, until + 1 / self.fps)
            until *= OPEN_S / self._open_span
        r = float(rest_ease(t - self._last_voiced_t, until))
        if r <= 0.0:
            self._rest_n = 0
            return w
        if self._rest_n == 0:
            self._rest_sum[:] = 0.0
        # The held pose: the model's face since the pause began (the rest is not known yet).
        self._rest_sum += w
        self._rest_n += 1
        held = rest_pose(self._rest_sum / self._rest_n)
        return ((1 - r) * w + r * held).astype(np.float32)

    # ---- expression --------------------------------------------------------------------------
    def _read_emotion(self, k: int, t: float, w: np.ndarray, voiced: bool) -> None:
        (self._recent_voiced if voiced else self._recent_any).append(w)
        if k % self._emotion_every:
            return
        emotion, level = read_expression(np.asarray(self._recent_voiced or self._recent_any))
        if startles(emotion) and (k == 0 or not startles(self._emotion)):  # fear or surprise begins
            self._startle_t, self._hold_until = t, t + STARTLE_S
            self._cues = [c for c in self._cues if c >= self._hold_until]
            if self._spontaneous is not None and self._spontaneous < self._hold_until:
                self._spontaneous = first_blink(self._blink_rng, self._hold_until)
        self._emotion, self._arousal = emotion, arousal_of(emotion, level)

    # ---- eyes --------------------------------------------------------------------------------
    def _gaze(self, t: float) -> np.ndarray:
        while self._gaze_next <= t:
            start = self._gaze_next
            starting = any(start - 0.4 < o <= start for o in self._onsets)  # a phrase just began
            yaw, pitch, duration, self._away = next_fixation(self._gaze_rng, self._away, starting, self._emotion)
            new = np.array([yaw, pitch])
            if self._gaze_after is not None and is_gaze_shift(self._gaze_after, new):
                cue = gaze_shift_cue(self._blink_rng, start)
                if cue is not None and cue >= self._hold_until:
                    self._cues.append(max(cue, t))
            self._gaze_before = new if self._gaze_after is None else self._gaze_after
            self._gaze_after, self._gaze_start, self._gaze_next = new, start, start + duration
        return saccade(np.array([t - self._gaze_start]), self._gaze_before[None], self._gaze_after[None])[0]

    def _blink(self, t: float) -> np.ndarray:
        if self._spontaneous is None:
            self._spontaneous = first_blink(self._blink_rng, self._hold_until)
        while True:
            self._cues = sorted(c for c in self._cues if c >= self._last_blink + BLINK_MIN_GAP_S)
            onset = min(self._spontaneous, self._cues[0] if self._cues else np.inf)
            if onset > t:
                break
            self._blinks.append((onset, sample_blink(self._blink_rng)))
            self.blinks.append(onset)
            self._last_blink = onset
            self._spontaneous = onset + blink_interval(self._blink_rng)
        while self._blinks and t - self._blinks[0][0] > 1.0:
            self._blinks.popleft()
        closure = np.zeros((1, 2))
        for onset, blink in self._blinks:
            blink_closure(closure, np.array([t - onset]), blink)
        return closure[0]

    # ---- head --------------------------------------------------------------------------------
    def _prosody_until(self, horizon: int, k: int) -> None:
        """Loudness and pitch at the frame rate, as far as the horizon reaches: nods are found
        here, ahead of the frames they move."""
        while True:
            m = self._pros
            tm = m / self.fps
            j = int(np.floor(tm * 100))
            if (j + 1) * HOP + PITCH_FRAME // 2 > horizon or (int(tm * SAMPLE_RATE) // WINDOW + 1) * WINDOW > horizon:
                return
            frac = tm * 100 - j
            a = j - self._ana_start
            loud = (1 - frac) * self._loud[a] + frac * self._loud[a + 1]
            f0 = (1 - frac) * self._f0[a] + frac * self._f0[a + 1]
            voiced = self._prob(int(tm * SAMPLE_RATE) // WINDOW) >= NEG_THRESHOLD
            semitones = 0.0
            if voiced:
                self._voiced_f0.append(f0)
                semitones = 12 * np.log2(f0 / np.median(self._voiced_f0))
            self._pitch_terms.append((m, -PITCH_LIFT_DEG * float(self._pitch_lift(np.clip(semitones, -6, 6)))))
            self._loud_min = min(self._loud_min, loud)
            x = loud if voiced else self._loud_min
            if self._loud_smooth is None:
                self._loud_smooth = _Lowpass(self.fps, LOUDNESS_HZ, x)
            self._pick_peak(float(self._loud_smooth(x)), m, voiced, semitones, k)
            self._pros += 1

    def _pick_peak(self, x: float, m: int, voiced: bool, semitones: float, k: int) -> None:
        """A loudness peak is a syllable's once the loudness has fallen NOD_PROMINENCE_DB below it,
        having risen as much from the valley before it."""
        if x <= self._low:
            self._low, self._high, self._high_at = x, x, (m, voiced, semitones)
        elif x > self._high:
            self._high, self._high_at = x, (m, voiced, semitones)
        if self._high - self._low >= NOD_PROMINENCE_DB and self._high - x >= NOD_PROMINENCE_DB:
            peak, peak_voiced, peak_semitones = self._high_at
            if peak_voiced and peak - self._last_nod_frame >= NOD_GAP_S * self.fps:
                strength = float(nod_strength(self._high - self._low, peak_semitones))
                self._strengths.append(strength)
                if strength >= np.quantile(self._strengths, STRESSED_QUANTILE):
                    # The nod leads the peak slightly, but cannot start before it is heard.
                    start = max(peak / self.fps - NOD_LEAD_S, (k - 1) / self.fps)
                    self._nods.append((start, nod_amplitude(self._head_rng, strength)))
                    self._last_nod_frame = peak
            self._low, self._high, self._high_at = x, x, (m, voiced, semitones)

    def _head(self, k: int, t: float, voiced: bool) -> np.ndarray:
        activity = min(max(float(self._activity(float(voiced))), 0.0), 1.0)
        style = np.array([head_gain(self._arousal), float(self._emotion == "sad")])
        if self._style is None:
            self._style = _Lowpass(self.fps, STYLE_HZ, style)
        gain, sad = self._style(style)
        head = self._posture(self._posture_value) + self._sway(self._head_rng.normal(size=3)) / self._sway_std * SWAY_DEG
        while self._nods and t - self._nods[0][0] > 2.0:
            self._nods.popleft()
        head[0] += sum(a * float(nod_response(t - s)) for s, a in self._nods)
        while len(self._pitch_terms) > 1 and self._pitch_terms[1][0] <= k:
            self._pitch_terms.popleft()
        if self._pitch_terms:
            head[0] += self._pitch_terms[0][1]
        head *= gain * activity_scale(activity)
        head[0] += SAD_HANG_DEG * sad  # sadness: the head hangs a little
        return head
