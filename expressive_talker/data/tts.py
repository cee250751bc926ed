"""Speech synthesis with phone timings from three offline engines: flite, festival (HTS) and espeak-ng.

Every engine returns the same thing: a 16 kHz mono float32 waveform and a list of
``(phone, start_s, end_s)`` in a common ARPAbet-style set (lower case, no stress digits, ``pau``
for silence; see ``phones.py``). Emotional prosody is applied with each engine's own controls
(speaking rate, mean pitch, pitch range) so that durations, and therefore phone timings, really
change; loudness is a gain applied afterwards.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import soundfile as sf

from ..audio.io import SAMPLE_RATE


class EngineUnavailable(RuntimeError):
    """A speech engine is not installed (its Debian package is listed in packages.txt)."""


@dataclass(frozen=True)
class Prosody:
    """Emotional prosody relative to the voice's neutral delivery."""

    rate: float = 1.0  # speaking-rate factor (>1 faster)
    pitch: float = 0.0  # mean pitch shift in semitones
    range: float = 1.0  # pitch-range factor (>1 livelier intonation)
    gain_db: float = 0.0  # loudness change


@dataclass(frozen=True)
class Voice:
    name: str  # corpus-wide id, e.g. "flite-slt"
    engine: str  # "flite" | "festival" | "espeak"
    engine_voice: str
    f0: float  # typical mean pitch in Hz, the base for semitone shifts


# Voices used by the corpus. kal16 is kept out of training (test sentences only) to measure how
# models do on an unseen voice.
VOICES: dict[str, Voice] = {
    v.name: v
    for v in (
        Voice("flite-slt", "flite", "slt", 170.0),
        Voice("flite-rms", "flite", "rms", 100.0),
        Voice("flite-awb", "flite", "awb", 110.0),
        Voice("flite-kal16", "flite", "kal16", 105.0),
        Voice("festival-slt-hts", "festival", "cmu_us_slt_arctic_hts", 180.0),
        Voice("espeak-us-m", "espeak", "en-us", 118.0),
        Voice("espeak-us-f", "espeak", "en-us+f3", 200.0),
        Voice("espeak-gb-m", "espeak", "en-gb-x-rp+m3", 110.0),
    )
}
HELD_OUT_VOICES = ("flite-kal16",)


def _require(binary: str, package: str) -> str:
    path = shutil.which(binary)
    if path is None:
        raise EngineUnavailable(f"{binary} is not installed (Debian package {package!r}, listed in packages.txt)")
    return path


def _to_16k(wave: np.ndarray, rate: int) -> np.ndarray:
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim > 1:
        wave = wave.mean(axis=1)
    if rate != SAMPLE_RATE:
        import librosa

        wave = librosa.resample(wave, orig_sr=rate, target_sr=SAMPLE_RATE, res_type="soxr_hq")
    return np.ascontiguousarray(wave, dtype=np.float32)


def _ends_to_segments(pairs: list[tuple[str, float]]) -> list[tuple[str, float, float]]:
    """[(phone, end_s)] -> [(phone, start_s, end_s)]."""
    out, start = [], 0.0
    for phone, end in pairs:
        if end > start:
            out.append((phone, start, end))
            start = end
    return out


# ---- flite -----------------------------------------------------------------------------------
def _flite(text: str, voice: Voice, prosody: Prosody, workdir: str):
    flite = _require("flite", "flite")
    wav = os.path.join(workdir, "flite.wav")
    f0 = voice.f0 * 2 ** (prosody.pitch / 12)
    cmd = [
        flite, "-voice", voice.engine_voice, "-psdur",
        "--setf", f"duration_stretch={1.0 / prosody.rate:.3f}",
        "--setf", f"int_f0_target_mean={f0:.1f}",
        "--setf", f"int_f0_target_stddev={max(2.0, 0.12 * f0 * prosody.range):.1f}",
        "-t", text, "-o", wav,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"flite failed: {proc.stderr.strip()[:200]}")
    pairs = [(p, float(t)) for p, t in re.findall(r"(\S+):([0-9.]+)", proc.stdout)]
    data, rate = sf.read(wav, dtype="float32")
    return _to_16k(data, rate), _ends_to_segments(pairs)


# ---- festival --------------------------------------------------------------------------------
def _festival(text: str, voice: Voice, prosody: Prosody, workdir: str):
    festival = _require("festival", "festival")
    base = os.path.join(workdir, "fest")
    quoted = text.replace("\\", " ").replace('"', "'")
    # HTS engine options: -r speaking rate, -fm additive half-tones; Festival writes the
    # engine's own durations back to the Segment relation, so .segs matches the audio.
    script = f"""
(voice_{voice.engine_voice})
(set! hts_engine_params (append {voice.engine_voice}::hts_engine_params
   (list (list "-r" {prosody.rate:.3f}) (list "-fm" {prosody.pitch:.2f}))))
(let ((utt (utt.synth (eval (list 'Utterance 'Text "{quoted}")))))
  (utt.save.wave utt "{base}.wav" 'riff)
  (utt.save.segs utt "{base}.segs"))
"""
    with open(base + ".scm", "w") as f:
        f.write(script)
    proc = subprocess.run([festival, "-b", base + ".scm"], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not os.path.exists(base + ".segs"):
        raise RuntimeError(f"festival failed: {(proc.stderr or proc.stdout).strip()[:300]}")
    pairs = []
    with open(base + ".segs") as f:
        body = f.read().split("#", 1)[-1]
    for line in body.strip().splitlines():
        parts = line.split()
        if len(parts) == 3:
            pairs.append((parts[2], float(parts[0])))
    data, rate = sf.read(base + ".wav", dtype="float32")
    return _to_16k(data, rate), _ends_to_segments(pairs)


# ---- espeak-ng through libespeak-ng ----------------------------------------------------------
class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
        ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p), ("id", _EventId),
    ]  # fmt: skip


_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))
_EVENT_END, _EVENT_PHONEME = 0, 7
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4


class _Espeak:
    """The process-wide libespeak-ng instance (it keeps global state, one per process)."""

    def __init__(self):
        try:
            self.lib = ctypes.CDLL("libespeak-ng.so.1")
        except OSError as exc:
            raise EngineUnavailable("libespeak-ng is not installed (Debian package 'espeak-ng', listed in packages.txt)") from exc
        # AUDIO_OUTPUT_SYNCHRONOUS = 2; option 1 = phoneme events.
        self.rate = self.lib.espeak_Initialize(2, 0, None, 1)
        if self.rate <= 0:
            raise EngineUnavailable("libespeak-ng failed to initialise")
        self.samples: list[np.ndarray] = []
        self.events: list[tuple[str, int]] = []
        self.callback = _SYNTH_CALLBACK(self._on_synth)  # keep a reference: ctypes would free it
        self.lib.espeak_SetSynthCallback(self.callback)
        self.lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]

    def _on_synth(self, wav, n, events):
        if n > 0:
            self.samples.append(np.ctypeslib.as_array(wav, shape=(n,)).astype(np.float32) / 32768.0)
        i = 0
        while events[i].type != _EVENT_END:
            if events[i].type == _EVENT_PHONEME:
                self.events.append((events[i].id.string.decode("utf-8", "replace"), events[i].audio_position))
            i += 1
        return 0

    def synth(self, text: str, voice: Voice, prosody: Prosody):
        if self.lib.espeak_SetVoiceByName(voice.engine_voice.encode()) != 0:
            raise EngineUnavailable(f"espeak-ng has no voice {voice.engine_voice!r}")
        self.lib.espeak_SetParameter(_RATE, int(round(165 * prosody.rate)), 0)
        self.lib.espeak_SetParameter(_PITCH, int(np.clip(50 + 4.5 * prosody.pitch, 0, 99)), 0)
        self.lib.espeak_SetParameter(_RANGE, int(np.clip(50 * prosody.range, 0, 99)), 0)
        self.lib.espeak_SetParameter(_VOLUME, 100, 0)
        self.samples, self.events = [], []
        data = text.encode("utf-8") + b"\0"
        # position_type POS_CHARACTER=1; flags: espeakCHARS_UTF8 (1) | espeakENDPAUSE (0x1000)
        err = self.lib.espeak_Synth(data, len(data), 0, 1, 0, 1 | 0x1000, None, None)
        if err != 0:
            raise RuntimeError(f"espeak_Synth failed with code {err}")
        wave = np.concatenate(self.samples) if self.samples else np.zeros(0, np.float32)
        seconds = len(wave) / self.rate
        # A phoneme event marks where its phoneme starts; it lasts until the next one.
        starts = [(p, ms / 1000.0) for p, ms in self.events]
        segments = []
        for i, (p, t0) in enumerate(starts):
            t1 = starts[i + 1][1] if i + 1 < len(starts) else seconds
            if t1 > t0:
                segments.append((p, t0, t1))
        if segments and segments[0][1] > 0:
            segments.insert(0, ("_", 0.0, segments[0][1]))
        if segments and segments[-1][2] < seconds:
            segments.append(("_", segments[-1][2], seconds))
        return _to_16k(wave, self.rate), segments


@lru_cache(maxsize=1)
def _espeak() -> _Espeak:
    return _Espeak()


def _espeak_synth(text: str, voice: Voice, prosody: Prosody, workdir: str):
    return _espeak().synth(text, voice, prosody)


_ENGINES = {"flite": _flite, "festival": _festival, "espeak": _espeak_synth}


def synthesize(text: str, voice: str | Voice, prosody: Prosody = Prosody()):
    """Speak ``text`` -> (wave float32 at 16 kHz, [(phone, start_s, end_s)] in the common set)."""
    from .phones import normalize_phone

    voice = VOICES[voice] if isinstance(voice, str) else voice
    with tempfile.TemporaryDirectory(prefix="et-tts-") as workdir:
        wave, segments = _ENGINES[voice.engine](text, voice, prosody, workdir)
    if len(wave) == 0 or not segments:
        raise RuntimeError(f"{voice.name} produced no speech for {text!r}")
    wave = wave * np.float32(10 ** (prosody.gain_db / 20))
    peak = float(np.abs(wave).max())
    if peak > 0.99:  # loud emotions must not clip
        wave *= np.float32(0.99 / peak)
    seconds = len(wave) / SAMPLE_RATE
    phones = []
    for p, t0, t1 in segments:
        name = normalize_phone(p, voice.engine)
        t0, t1 = min(t0, seconds), min(t1, seconds)
        if t1 <= t0:
            continue
        if name is None:
            continue
        if phones and phones[-1][0] == name == "pau":
            phones[-1] = ("pau", phones[-1][1], t1)
        else:
            phones.append((name, round(t0, 4), round(t1, 4)))
    return wave, phones
