"""Decode speech files to 16 kHz mono float32, loudness-normalised, with one clear error for
anything unusable.

wav/flac/ogg/mp3 go through libsndfile (soundfile); anything else (m4a, webm, opus in webm, ...)
through imageio-ffmpeg's ffmpeg. The duration is checked from the file header (or an ffmpeg
probe) before the samples are decoded, and ffmpeg is told to stop decoding at the limit, so an
enormous upload never lands in memory.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from dataclasses import dataclass, field

import numpy as np
import soundfile as sf

from ..errors import InputError

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
MIN_SECONDS = 0.3
MAX_SECONDS = 60.0  # default limit; callers pass max_seconds to change it
SUPPORTED = "wav, mp3, flac, ogg, m4a, webm"

TARGET_DBFS = -20.0  # RMS of the voiced part after normalisation
PEAK_LIMIT = 0.95  # never scale a peak above this (no clipping)
SILENCE_DBFS = -60.0  # a clip whose loudest 20 ms stays below this is silence
_FRAME = SAMPLE_RATE // 50  # 20 ms loudness frames


@dataclass
class AudioClip:
    """A decoded clip plus what a user should be told about it."""

    wave: np.ndarray  # float32, mono, SAMPLE_RATE
    source_rate: int
    source_channels: int
    silent: bool
    gain_db: float  # applied by loudness normalisation
    notes: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return len(self.wave) / SAMPLE_RATE


def load_audio(path, max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """Any speech file -> loudness-normalised float32 mono waveform at 16 kHz.

    Raises InputError on unusable input; an all-silent clip is returned (and logged).
    """
    return read_audio(path, max_seconds).wave


def read_audio(path, max_seconds: float = MAX_SECONDS) -> AudioClip:
    """Like :func:`load_audio`, also returning the notes to show a user (e.g. "all silence")."""
    if max_seconds is None or not max_seconds > 0:
        raise ValueError("max_seconds must be a positive number")
    path = _check_path(path)
    name = os.path.basename(path)
    info = _sndfile_info(path)
    if info is not None:
        if info.frames <= 0 or info.samplerate <= 0:
            raise InputError(f"{name} contains no audio samples")
        _check_duration(info.frames / info.samplerate, max_seconds)
        data = _sndfile_read(path, info, max_seconds)
        rate, channels = info.samplerate, info.channels
        declared = _wav_declared_seconds(path)
    else:
        rate, channels, declared = _ffmpeg_probe(path)
        if declared is not None:
            _check_duration(declared, max_seconds)
        data = _ffmpeg_decode(path, max_seconds)  # already 16 kHz mono
    notes = []
    present = len(data) / (rate if info is not None else SAMPLE_RATE)
    if declared is not None and declared - present > max(0.1, 0.02 * declared) and present < max_seconds:
        notes.append(f"{name} looks cut short: its header says {declared:.1f} s but only {present:.1f} s of audio are there; animating what is there")
        log.warning(notes[-1])
    if data.size == 0:
        raise InputError(f"{name} contains no audio samples")
    if not np.all(np.isfinite(data)):
        raise InputError(f"{name} contains invalid (NaN or infinite) samples")
    wave = data.mean(axis=1) if data.ndim == 2 else data
    if info is not None and rate != SAMPLE_RATE:
        import librosa

        wave = librosa.resample(wave, orig_sr=rate, target_sr=SAMPLE_RATE, res_type="soxr_hq")
    wave = np.ascontiguousarray(wave, dtype=np.float32)
    _check_duration(len(wave) / SAMPLE_RATE, max_seconds)
    wave, gain_db, silent = normalize_loudness(wave)
    if silent:
        notes.append(f"{name} is silent: the face will keep its mouth closed")
        log.warning(notes[-1])
    return AudioClip(wave, rate, channels, silent, gain_db, notes)


def normalize_loudness(wave: np.ndarray) -> tuple[np.ndarray, float, bool]:
    """Remove DC and scale the voiced part to TARGET_DBFS RMS without clipping.

    Returns (wave, gain in dB, silent). Silence is returned unscaled: amplifying it would turn
    noise into speech-like input.
    """
    wave = wave - np.float32(wave.mean())
    n = len(wave) // _FRAME
    frames = wave[: n * _FRAME].reshape(n, _FRAME) if n else wave[None, :]
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    loudest = float(rms.max()) if rms.size else 0.0
    if loudest <= 10 ** (SILENCE_DBFS / 20):
        return wave.astype(np.float32), 0.0, True
    voiced = rms[rms > loudest * 10 ** (-30 / 20)]  # frames within 30 dB of the loudest
    level = float(np.sqrt(np.mean(voiced**2)))
    gain = 10 ** (TARGET_DBFS / 20) / level
    peak = float(np.abs(wave).max())
    gain = min(gain, PEAK_LIMIT / peak)
    return (wave * np.float32(gain)).astype(np.float32), float(20 * np.log10(gain)), False


def write_wav(path, wave: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    sf.write(os.fspath(path), np.asarray(wave, dtype=np.float32), rate, subtype="PCM_16")


def _check_path(path) -> str:
    if path is None or str(path).strip() == "":
        raise InputError("no audio file was given")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"audio file not found: {path}")
    if not os.path.isfile(path):
        raise InputError(f"not a file: {path}")
    if not os.access(path, os.R_OK):
        raise InputError(f"audio file is not readable (permission denied): {path}")
    if os.path.getsize(path) == 0:
        raise InputError(f"{os.path.basename(path)} is empty (0 bytes)")
    return path


def _check_duration(seconds: float, max_seconds: float) -> None:
    if seconds > max_seconds:
        raise InputError(f"audio is {seconds:.1f} s long; the limit is {max_seconds:g} s")
    if seconds <= 0:
        raise InputError("the audio contains no samples")
    if seconds < MIN_SECONDS:
        raise InputError(f"audio is {seconds:.2f} s long; at least {MIN_SECONDS} s is needed")


def _sndfile_info(path: str):
    try:
        return sf.info(path)
    except Exception:  # noqa: BLE001 - not a libsndfile format; ffmpeg gets to try
        return None


def _wav_declared_seconds(path: str) -> float | None:
    """The duration a WAV file's header declares (its data chunk's size), which libsndfile
    quietly trims to the bytes present; None for other formats or an unreadable header."""
    import struct

    try:
        with open(path, "rb") as f:
            if f.read(4) != b"RIFF" or f.read(8)[4:] != b"WAVE":
                return None
            rate = align = None
            while chunk := f.read(8):
                if len(chunk) < 8:
                    return None
                kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if kind == b"fmt ":
                    fmt = f.read(size)
                    rate, align = struct.unpack("<I", fmt[4:8])[0], struct.unpack("<H", fmt[12:14])[0]
                    size = 0
                elif kind == b"data":
                    return size / align / rate if rate and align and size < 0xFFFFFFFF else None
                f.seek(size + size % 2, 1)
    except (OSError, struct.error):
        return None
    return None


def _sndfile_read(path: str, info, max_seconds: float) -> np.ndarray:
    # frames= caps the read even if the header under-reports the length
    limit = int(max_seconds * info.samplerate) + 1
    try:
        data, _ = sf.read(path, dtype="float32", always_2d=True, frames=min(info.frames, limit) + 1)
    except Exception as exc:  # noqa: BLE001 - corrupt data after a valid header
        raise InputError(f"could not decode {os.path.basename(path)}: {exc}") from None
    return data


_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_AUDIO_STREAM = re.compile(r"Stream #\S+.*?: Audio: [^,]+, (\d+) Hz, ([^,]+)")


def _ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _ffmpeg_probe(path: str) -> tuple[int, int, float | None]:
    """(sample rate, channels, container duration or None) from ffmpeg's header parse only."""
    name = os.path.basename(path)
    proc = _run_ffmpeg(["-hide_banner", "-nostdin", "-i", path], path, timeout=60)
    text = proc.stderr.decode("utf-8", "replace")
    stream = _AUDIO_STREAM.search(text)
    if "Input #0" not in text:
        raise InputError(f"could not read {name} as audio (supported: {SUPPORTED})")
    if stream is None:
        raise InputError(f"{name} has no audio track")
    channels = _channel_count(stream.group(2).strip())
    match = _DURATION.search(text)  # browsers' MediaRecorder webm often says "Duration: N/A"
    seconds = None
    if match:
        h, m, s = match.groups()
        seconds = int(h) * 3600 + int(m) * 60 + float(s)
    return int(stream.group(1)), channels, seconds


_LAYOUTS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "6.1": 7, "7.1": 8}


def _channel_count(layout: str) -> int:
    """ffmpeg's channel layout ("mono", "stereo", "5.1(side)", "3 channels") -> count; 0 if unknown."""
    match = re.match(r"(\d+) channels", layout)
    if match:
        return int(match.group(1))
    return _LAYOUTS.get(layout.split("(")[0], 0)


def _run_ffmpeg(args: list[str], path: str, timeout: float) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([_ffmpeg_exe(), *args], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise InputError(f"decoding {os.path.basename(path)} took longer than {timeout:g} s; is it a valid audio file?") from None


def _ffmpeg_decode(path: str, max_seconds: float) -> np.ndarray:
    """Decode straight to 16 kHz mono float32; -t stops at the limit (plus a margin to detect it)."""
    args = ["-nostdin", "-v", "error", "-i", path, "-vn", "-t", f"{max_seconds + 1:.3f}",
            "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"]
    proc = _run_ffmpeg(args, path, timeout=300)
    if proc.returncode != 0:
        raise InputError(f"could not decode {os.path.basename(path)} as audio (supported: {SUPPORTED})")
    return np.frombuffer(proc.stdout, dtype=np.float32).copy()
